#!/usr/bin/env bash
# Render sizecalc's pictures and screenshot them in headless Chromium, to look at them.
#   bash bench/draw_screens.sh [OUT_DIR]     (default /tmp/sizecalc-draw)
# Each picture: OUT/NAME.svg and OUT/NAME.png (the window sized to the SVG's own size).
set -euo pipefail
out=${1:-/tmp/sizecalc-draw}
mkdir -p "$out"
shoot() {  # name, then sizecalc draw's arguments
    local name=$1; shift
    sizecalc draw "$@" -o "$out/$name.svg"
    local size
    size=$(python3 -c "import re,sys; s=open(sys.argv[1]).read(2000); \
w,h=re.search(r'width=\"([0-9.]+)\" height=\"([0-9.]+)\"', s).groups(); print(f'{int(float(w))+1},{int(float(h))+1}')" \
        "$out/$name.svg")
    chromium --headless --no-sandbox --hide-scrollbars --screenshot="$out/$name.png" --window-size="$size" \
        "file://$out/$name.svg" >/dev/null 2>&1
    echo "$out/$name.png ($size)"
}
shoot vgg16 vgg16
shoot alexnet alexnet
shoot lenet5 lenet5
shoot resnet50-d2 resnet50 --depth 2
shoot googlenet googlenet --depth 2
shoot densenet121-d3 densenet121 --depth 3
shoot resnet18 resnet18
