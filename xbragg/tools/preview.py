"""Preview images of float detector images, scaled as crystallographers' viewers show them.

As in adxv or the DIALS image viewer, brightness is linear up to a saturation level taken
from a high percentile of the pixel values (a few bright spots do not make the rest black),
optionally on a log scale; differences go on a diverging colour map (blue below 0, white at
0, red above) with a colour bar whose numbers are drawn with a tiny built-in bitmap font.
Everything returns uint8 arrays for :mod:`xbragg.tools.png`.
"""
from __future__ import annotations

import numpy as np

__all__ = ["LOG_DECADES", "PERCENTILE", "brightness", "diverging", "draw_text", "saturation_level",
           "text_mask", "with_colour_bar", "zoom_panels"]

#: default percentile of the positive pixel values that sets the saturation level
PERCENTILE = 99.5
#: decades below saturation that the log scale shows (a pixel at saturation/10**3 is black)
LOG_DECADES = 3.0

# 3x5 glyphs, rows top to bottom; text is drawn upper case
_GLYPHS = {
    "0": ("111", "101", "101", "101", "111"), "1": ("010", "110", "010", "010", "111"),
    "2": ("111", "001", "111", "100", "111"), "3": ("111", "001", "111", "001", "111"),
    "4": ("101", "101", "111", "001", "001"), "5": ("111", "100", "111", "001", "111"),
    "6": ("111", "100", "111", "101", "111"), "7": ("111", "001", "010", "010", "010"),
    "8": ("111", "101", "111", "101", "111"), "9": ("111", "101", "111", "001", "111"),
    ".": ("000", "000", "000", "000", "010"), "-": ("000", "000", "111", "000", "000"),
    "+": ("000", "010", "111", "010", "000"), ":": ("000", "010", "000", "010", "000"),
    " ": ("000", "000", "000", "000", "000"), "A": ("010", "101", "111", "101", "101"),
    "E": ("111", "100", "110", "100", "111"), "F": ("111", "100", "110", "100", "100"),
    "G": ("011", "100", "101", "101", "011"), "L": ("100", "100", "100", "100", "111"),
    "O": ("010", "101", "101", "101", "010"), "R": ("110", "101", "110", "101", "101"),
    "S": ("011", "100", "010", "001", "110"), "T": ("111", "010", "010", "010", "010"),
    "U": ("101", "101", "101", "101", "111"), "W": ("101", "101", "101", "111", "101"),
    "X": ("101", "101", "010", "101", "101"),
}
_BLACK = (0, 0, 0)


def saturation_level(image: np.ndarray, percentile: float = PERCENTILE) -> float:
    """The ``percentile``-th percentile of the finite, positive pixel values (0 if none)."""
    x = np.asarray(image, dtype=np.float64)
    positive = x[np.isfinite(x) & (x > 0)]
    return float(np.percentile(positive, percentile)) if positive.size else 0.0


def brightness(image: np.ndarray, saturation: float, *, log: bool = False,
               decades: float = LOG_DECADES) -> np.ndarray:
    """Grey levels (uint8, shape of ``image``): 0 at or below 0, 255 at ``saturation`` and above.

    Linear in between, or with ``log`` ``log10(1 + x/f) / log10(1 + saturation/f)`` with
    ``f = saturation * 10**-decades``.  Non-finite pixels are black; a ``saturation``
    that is not positive gives a black image.
    """
    x = np.asarray(image, dtype=np.float64)
    x = np.where(np.isfinite(x), x, 0.0)
    if not (np.isfinite(saturation) and saturation > 0):
        return np.zeros(x.shape, dtype=np.uint8)
    t = np.clip(x / saturation, 0.0, 1.0)
    if log:
        k = 10.0 ** decades
        t = np.log10(1.0 + k * t) / np.log10(1.0 + k)
    return np.round(255.0 * t).astype(np.uint8)


def diverging(diff: np.ndarray, scale: float) -> np.ndarray:
    """RGB (uint8, shape + (3,)) of ``diff`` on a blue-white-red map symmetric about 0.

    White at 0, pure red at ``+scale`` and above, pure blue at ``-scale`` and below,
    linear in between; non-finite pixels are black.  A ``scale`` that is not positive shows
    every finite pixel white.
    """
    d = np.asarray(diff, dtype=np.float64)
    finite = np.isfinite(d)
    if np.isfinite(scale) and scale > 0:
        t = np.clip(np.where(finite, d, 0.0) / scale, -1.0, 1.0)
    else:
        t = np.zeros(d.shape)
    fade = np.round(255.0 * (1.0 - np.abs(t))).astype(np.uint8)
    rgb = np.full(d.shape + (3,), 255, dtype=np.uint8)
    rgb[..., 0] = np.where(t < 0, fade, 255)        # red channel fades towards blue
    rgb[..., 1] = fade
    rgb[..., 2] = np.where(t > 0, fade, 255)        # blue channel fades towards red
    rgb[~finite] = _BLACK
    return rgb


def text_mask(text: str, scale: int = 1) -> np.ndarray:
    """Bool mask of ``text`` (upper-cased) in the 3x5 font, each font pixel ``scale`` wide.

    Shape ``(5*scale, (4*len(text) - 1)*scale)``.  Raises ``ValueError`` for a character
    the font lacks.
    """
    missing = sorted({c for c in text.upper() if c not in _GLYPHS})
    if missing:
        raise ValueError(f"no glyph for {''.join(missing)!r}")
    cols = []
    for i, c in enumerate(text.upper()):
        if i:
            cols.append(np.zeros((5, 1), dtype=bool))
        cols.append(np.array([[b == "1" for b in row] for row in _GLYPHS[c]]))
    mask = np.hstack(cols) if cols else np.zeros((5, 0), dtype=bool)
    return np.kron(mask, np.ones((scale, scale), dtype=bool)).astype(bool)


def draw_text(canvas: np.ndarray, text: str, top: int, left: int, *, scale: int = 1,
              colour: tuple[int, int, int] = _BLACK) -> None:
    """Draw ``text`` on an RGB ``canvas`` (in place), clipped at the canvas edges."""
    mask = text_mask(text, scale)
    h, w = canvas.shape[:2]
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + mask.shape[0], h), min(left + mask.shape[1], w)
    if y1 <= y0 or x1 <= x0:
        return
    canvas[y0:y1, x0:x1][mask[y0 - top:y1 - top, x0 - left:x1 - left]] = colour


def _label(value: float, sign: str) -> str:
    return sign + f"{value:.3g}" if value > 0 else "0"


def with_colour_bar(rgb: np.ndarray, scale: float, title: str = "ours - ref") -> np.ndarray:
    """``rgb`` (a :func:`diverging` image) above a colour bar labelled ``-scale``, 0, ``+scale``.

    The canvas is white, as wide as the image or as the labels need; the font grows with
    the image so that the numbers stay legible on large detectors.
    """
    h, w = rgb.shape[:2]
    s = max(1, w // 256)                             # font pixel size
    margin, bar_h, gap = 2 * s, 6 * s, 3 * s
    labels = (_label(scale, "-"), "0", _label(scale, "+"))
    need = sum(text_mask(t, s).shape[1] for t in labels) + 4 * margin + 2 * 4 * s
    width = max(w, need, text_mask(title, s).shape[1] + 2 * margin)
    height = h + gap + bar_h + gap + 5 * s + gap + 5 * s + gap
    canvas = np.full((height, width, 3), 255, dtype=np.uint8)
    canvas[:h, :w] = rgb
    top = h + gap
    bar_w = width - 2 * margin
    ramp = np.linspace(-1.0, 1.0, bar_w) * (scale if scale > 0 else 0.0)
    canvas[top:top + bar_h, margin:margin + bar_w] = diverging(ramp[None, :], scale)
    top += bar_h + gap
    _, mid, right = (text_mask(t, s).shape[1] for t in labels)
    draw_text(canvas, labels[0], top, margin, scale=s)
    draw_text(canvas, labels[1], top, margin + (bar_w - mid) // 2, scale=s)
    draw_text(canvas, labels[2], top, margin + bar_w - right, scale=s)
    top += 5 * s + gap
    draw_text(canvas, title, top, (width - text_mask(title, s).shape[1]) // 2, scale=s)
    return canvas


def zoom_panels(ref: np.ndarray, ours: np.ndarray, diff_rgb: np.ndarray, slow: int, fast: int,
                *, size: int = 64, factor: int = 4,
                origin: tuple[int, int] = (0, 0)) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A ``size`` x ``size`` crop around pixel (``slow``, ``fast``) of three previews, enlarged.

    ``ref`` and ``ours`` are grey previews (uint8, h x w), ``diff_rgb`` the diverging one
    (h x w x 3).  The crop is moved inside the image (and is smaller where the image is);
    each pixel becomes ``factor`` x ``factor``.  ``origin`` (fast, slow): detector pixel of
    the previews' first pixel.  Returns the RGB panel (REF, OURS, OURS-REF side by side,
    labelled, with the crop's detector pixel range written below) and that range's inclusive
    bounds ``(xmin, xmax, ymin, ymax)`` (x fast, y slow, detector pixels).
    """
    h, w = ref.shape
    ch, cw = min(size, h), min(size, w)
    y0 = min(max(slow - ch // 2, 0), h - ch)
    x0 = min(max(fast - cw // 2, 0), w - cw)
    crops = [np.repeat(ref[y0:y0 + ch, x0:x0 + cw, None], 3, axis=2),
             np.repeat(ours[y0:y0 + ch, x0:x0 + cw, None], 3, axis=2),
             diff_rgb[y0:y0 + ch, x0:x0 + cw]]
    big = [np.kron(c, np.ones((factor, factor, 1), dtype=np.uint8)) for c in crops]
    ph, pw = big[0].shape[:2]
    s = max(1, pw // 128)
    gap = 4 * s
    bounds = (origin[0] + x0, origin[0] + x0 + cw - 1, origin[1] + y0, origin[1] + y0 + ch - 1)
    caption = f"fast {bounds[0]}-{bounds[1]} slow {bounds[2]}-{bounds[3]} x{factor}"
    width = max(3 * pw + 4 * gap, text_mask(caption, s).shape[1] + 2 * gap)
    height = gap + 5 * s + gap + ph + gap + 5 * s + gap
    canvas = np.full((height, width, 3), 255, dtype=np.uint8)
    for i, (panel, name) in enumerate(zip(big, ("ref", "ours", "ours-ref"))):
        left = gap + i * (pw + gap)
        draw_text(canvas, name, gap, left, scale=s)
        canvas[2 * gap + 5 * s:2 * gap + 5 * s + ph, left:left + pw] = panel
    draw_text(canvas, caption, 3 * gap + 5 * s + ph, gap, scale=s)
    return canvas, bounds
