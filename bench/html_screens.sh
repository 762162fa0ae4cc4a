#!/usr/bin/env bash
# Render sizecalc's HTML report and screenshot it in headless Chromium, to look at it
# (beside bench/draw_screens.sh, which does the same for the pictures alone).
#   bash bench/html_screens.sh [OUT_DIR]     (default /tmp/sizecalc-html)
# Each report: OUT/NAME.html, OUT/NAME.png (the page as it opens: blocks folded) and
# OUT/NAME-open.png (every block and row opened, the diagram hidden: the table to read).
set -euo pipefail
out=${1:-/tmp/sizecalc-html}
mkdir -p "$out"
shoot() {  # name, then sizecalc table's arguments
    local name=$1; shift
    sizecalc table "$@" --format html -o "$out/$name.html"
    # the same page with every <details> open and the figures and picture hidden
    sed -e 's/<details class="\([a-z]*\)"/<details class="\1" open/g' \
        -e 's#</style>#section.diagram, section.figures { display: none; }</style>#' \
        "$out/$name.html" > "$out/$name-open.html"
    chromium --headless --no-sandbox --hide-scrollbars --screenshot="$out/$name.png" --window-size=1400,1800 \
        "file://$out/$name.html" >/dev/null 2>&1
    chromium --headless --no-sandbox --hide-scrollbars --screenshot="$out/$name-open.png" --window-size=1400,1800 \
        "file://$out/$name-open.html" >/dev/null 2>&1
    echo "$out/$name.png $out/$name-open.png ($(wc -c < "$out/$name.html") bytes)"
}
shoot vgg16 vgg16
shoot resnet50 resnet50
shoot resnet50-d2 resnet50 --depth 2
shoot googlenet googlenet
