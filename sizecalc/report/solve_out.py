"""`sizecalc solve`: a tools/solve.Answer as text (the settings that fit, or why nothing
does and the nearest ways out, each with its arithmetic) or JSON (Answer.to_dict)."""

from __future__ import annotations

import json as _json

from ..core.units import QUANTITY_NAMES, QUANTITY_SYMBOLS


def text(answer) -> str:
    if answer.out is None:
        return every(answer)
    lines = []
    missing = " and ".join(f"{QUANTITY_NAMES[q]} {QUANTITY_SYMBOLS[q]}" for q in answer.unknowns)
    head = f"{answer.equation}" + (f", for {missing}" if missing else "")
    if answer.bounds:
        head += f" ({'; '.join(answer.bounds)})"
    if answer.fits:
        lines.append(head + ":")
        if answer.unknowns:
            lines += aligned([(s.words(answer.unknowns), [s.arithmetic]) for s in answer.solutions])
        else:
            lines.append(f"  fits: {answer.solutions[0].arithmetic}")
        return "\n".join(lines) + "\n"
    lines.append(head + ": nothing fits exactly")
    lines += [f"  {r}" for r in answer.reason]
    if answer.alternatives:
        lines.append("nearest ways out, each checked with the formula:")
        lines += aligned([(a.label, [a.setting.arithmetic, *a.notes]) for a in answer.alternatives])
    else:
        lines.append("no way out within the bounds above")
    return "\n".join(lines) + "\n"


def every(answer) -> str:
    """No output asked for: every setting of the unknowns that tiles, or why none does."""
    missing = " and ".join(f"{QUANTITY_NAMES[q]} {QUANTITY_SYMBOLS[q]}" for q in answer.unknowns)
    bounds = f" ({'; '.join(answer.bounds)})" if answer.bounds else ""
    if not answer.unknowns:
        lines = [f"{answer.equation}: " + (f"tiles: {answer.solutions[0].arithmetic}" if answer.fits
                                           else "does not tile")]
        lines += [f"  {r}" for r in answer.reason]
    elif answer.fits:
        lines = [f"{answer.equation}: every {missing} that tiles{bounds}:"]
        lines += aligned([(s.words(answer.unknowns), [s.arithmetic]) for s in answer.solutions])
        lines += [f"  {n}" for n in answer.notes]
        return "\n".join(lines) + "\n"
    else:
        lines = [f"{answer.equation}: no {missing} tiles{bounds}"]
        lines += [f"  {r}" for r in answer.reason]
    if answer.alternatives:
        lines.append("nearest ways out, each checked with the formula:")
        lines += aligned([(a.label, [a.setting.arithmetic, *a.notes]) for a in answer.alternatives])
    return "\n".join(lines) + "\n"


def aligned(items: list[tuple[str, list[str]]]) -> list[str]:
    """Labels padded to the widest, each followed by its texts, one per line."""
    width = max(len(label) for label, _ in items)
    lines = []
    for label, texts in items:
        lines.append(f"  {label.ljust(width)}   {texts[0]}")
        lines += [f"  {'':{width}}   {t}" for t in texts[1:]]
    return lines


def json(answer) -> str:
    return _json.dumps(answer.to_dict(), indent=2) + "\n"
