"""Turn pictures of handwritten digits into MNIST-style 28 x 28 images, by MNIST's own recipe: ink
made high on a zero background, cropped to the ink, scaled so the longer side is 20 pixels (aspect
kept, anti-aliased), and placed in a 28 x 28 field with its centre of mass at the centre.

Pillow reads the files, SciPy does the image work (the paper's light, labelling, centre of mass)."""

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from scipy import ndimage

from digitcli.errors import InputFileError

MAX_SIDE = 1000  # larger photos are scaled down first: digits need far fewer pixels than phones take
# The header's size is checked before decoding, as a 37-byte GIF may declare a 12000 x 12000 screen
# (1.8 GB once decoded). A JPEG is decoded at 1/2 to 1/8 scale (draft), so a 50-megapixel phone photo
# costs a quarter of that; other formats decode whole, and a 7000 x 7000 RGB PNG (49 MP) took the
# server to 830 MB; 24 MP RGBA still peaked at 287 MB, 16 MP peaks at 220. Phones save 12 MP by default.
MAX_PIXELS = 16_000_000
MAX_JPEG_PIXELS = 50_000_000
# No photo or strip of digits is longer than this on a side; a 69-byte PNG declaring 1 x 50,000,000 is.
MAX_DECLARED_SIDE = 12_000
ORIENTATION = 0x0112  # the EXIF tag; TURNS undoes each of its values, as ImageOps.exif_transpose does
TURNS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
DECODER_ERRORS = (OSError, ValueError, SyntaxError, KeyError, IndexError, EOFError, NotImplementedError, RuntimeError)
MIN_CONTRAST = 0.12  # ink must differ from the paper by at least this much of the full grey range
# Where MNIST's digits have their centre of mass, in pixel indices: 14.0 on the test set (measured),
# half a pixel from the geometric centre 13.5. Models learned the data, so match the data.
CENTRE = 14.0


def read_gray(path, data=None):
    """A greyscale uint8 array of the image at `path`, or of the bytes `data` named `path`
    (transparent parts read as white paper). Images over MAX_PIXELS are refused from their header,
    before anything is decoded."""
    return read_photo(path, data)[0]


def read_photo(path, data=None):
    """(grey array, (width, height)): read_gray's array, shrunk to at most MAX_SIDE, and the size of
    the image as stored, turned upright as its EXIF says (the size a browser shows it at), so that
    places found in the array can be given in the user's own pixels."""
    path = Path(path)
    try:
        # Pillow warns of images over 89 megapixels and of damaged files ("Tag data larger than file")
        # on stderr, source line and all; _check_size and the errors below say it in words.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img = Image.open(path if data is None else io.BytesIO(data))
            with img:
                _check_size(img, path)
                size = img.size
                img.draft(None, (MAX_SIDE, MAX_SIDE))  # JPEG: decoded at 1/2 to 1/8 scale by the DCT, when large
                img.load()
                orientation = img.getexif().get(ORIENTATION)
    except FileNotFoundError:
        raise InputFileError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise InputFileError(f"{path}: is a folder") from None
    except UnidentifiedImageError:
        raise InputFileError(f"{path}: not an image Pillow can read (PNG, JPEG, BMP, TIFF...)") from None
    except Image.DecompressionBombError:
        raise InputFileError(f"{path}: image too large to open safely (a decompression bomb?)") from None
    except DECODER_ERRORS as exc:
        # Pillow's decoders signal damaged files with any of these, not OSError alone.
        detail = str(exc).strip() if isinstance(exc, (OSError, ValueError, SyntaxError)) else ""
        why = f" ({detail[:120]})" if detail else ""
        raise InputFileError(
            f"{path}: damaged, truncated or unsupported image{why}; save it again as PNG or JPEG"
        ) from None
    # Outside the try: past decoding, an exception is a bug of ours, not a damaged file.
    gray = _shrunk_gray(img, orientation)
    if orientation in (5, 6, 7, 8):  # turned a quarter: its width is the stored height
        size = size[::-1]
    return (_eight_bit(gray) if gray.mode.startswith(("I", "F")) else np.asarray(gray, dtype=np.uint8)), size


def _check_size(img, path):
    width, height = img.size
    if max(width, height) > MAX_DECLARED_SIDE:
        raise InputFileError(
            f"{path}: {width} x {height} pixels; no side may exceed {MAX_DECLARED_SIDE:,} pixels, far more "
            "than a photo or a strip of digits has: crop or scale the image down"
        )
    limit = MAX_JPEG_PIXELS if img.format == "JPEG" else MAX_PIXELS
    if width * height > limit:
        raise InputFileError(
            f"{path}: {width} x {height} pixels ({width * height / 1e6:.0f} megapixels); the limit is "
            f"{limit // 1_000_000} megapixels for {img.format or 'this format'}, far more than a digit needs: "
            "scale the image down"
        )


def _shrunk_gray(img, orientation=None):
    """The decoded image scaled to MAX_SIDE and made grey ("L"), or "I"/"F" for 16-bit and float
    images. Scaled before the full-size copies (rotation, compositing) so that memory stays near
    the decoded image's own."""
    if img.mode == "1":
        img = img.convert("L")  # Pillow resizes bilevel images by nearest neighbour only
    elif img.mode in ("P", "PA", "LA"):
        img = img.convert("RGBA")
    elif img.mode == "LAB":
        img = img.getchannel("L")  # its lightness is the grey; Pillow cannot convert LAB to L
    elif img.mode == "F":
        img = _finite(img)
    factor = max(img.size) // (2 * MAX_SIDE)
    if img.mode == "RGBA" and factor > 1:
        # Pillow premultiplies alpha on a whole copy before it resizes RGBA; band by band, the only
        # copy is one band's, a quarter the size.
        img = Image.merge("RGBA", [img.getchannel(band).reduce(factor) for band in "RGBA"])
    if max(img.size) > MAX_SIDE:
        # Pillow's reduce(), which thumbnail uses first for large images, has no 16-bit greyscale.
        gap = None if img.mode.startswith("I;16") else 2.0
        img.thumbnail((MAX_SIDE, MAX_SIDE), Image.LANCZOS, reducing_gap=gap)
    if isinstance(orientation, int) and orientation in TURNS:
        img = img.transpose(TURNS[orientation])  # as ImageOps.exif_transpose, once the image is small
    if img.mode == "RGBA":
        paper = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(paper, img)
    return img if img.mode.startswith(("I", "F")) else img.convert("L")


def _finite(img):
    """A float image without inf or NaN pixels (+inf as the brightest finite value, -inf and NaN as
    the darkest), shrunk by box averaging first when large so the copy stays small: resampling
    would smear one inf over its neighbours, and scaling by an inf made every pixel 0."""
    factor = -(-max(img.size) // (2 * MAX_SIDE))
    if factor > 1:
        img = img.reduce(factor)
    values = np.asarray(img, dtype=np.float32)
    finite = np.isfinite(values)
    if finite.all():
        return img
    hi, lo = (values[finite].max(), values[finite].min()) if finite.any() else (0.0, 0.0)
    return Image.fromarray(np.nan_to_num(values, nan=lo, posinf=hi, neginf=lo))


def _eight_bit(img):
    """16-bit and float greyscale (scanners write them) as 8-bit. Pillow's convert("L") clips every
    value above 255 to white, which made a 16-bit scan read as a blank page."""
    values = np.asarray(img, dtype=np.float64)
    if img.mode == "F":
        top = 1.0 if values.max(initial=0) <= 1.0 else 255.0
    else:  # I;16 and friends, or I holding 16-bit data (how Pillow opens 16-bit PNGs)
        top = 65535.0 if values.max(initial=0) > 255 or img.mode.startswith("I;16") else 255.0
    return np.clip(np.rint(values * 255.0 / top), 0, 255).astype(np.uint8)


def ink_map(gray):
    """Ink strength in [0, 1] from a greyscale page (either polarity), uneven lighting and shadows
    removed, or None when nothing on the page stands out from the paper.

    The paper's own light is a grey closing of the page (strokes are narrower than its window, so it
    fills them in, and keeps gradients and hard shadow edges where they are), and ink is how much
    darker than that paper a pixel is, as a fraction of the paper's light: a stroke in a shadow is as
    strong as one in the light. Sensor noise is smoothed first, in proportion to how much there is,
    or the closing would take the noise's peaks for paper."""
    g = np.asarray(gray, dtype=np.float32) / 255.0
    g = _denoise(g)
    if _light_ink(g):  # light ink on a dark ground: make the paper light
        g = 1.0 - g
    width = _stroke_width(g)
    paper = ndimage.grey_closing(g, size=2 * width | 1, mode="nearest")
    dark = paper - g
    if width >= 6:  # printed rules and grid lines, far thinner than the pen, are no ink
        dark = ndimage.grey_opening(dark, size=max(3, width // 2))
    if float(np.percentile(dark, 99.9)) < MIN_CONTRAST:
        return None
    ink = np.clip(dark / np.maximum(paper, 0.1), 0, None)
    peak = float(np.percentile(ink, 99.9))
    return np.clip(ink / peak, 0, 1)


def _light_ink(g):
    """Whether the marks on the page are lighter than the paper round them (chalk, a negative)
    rather than darker. A shadow over most of the page makes it mostly dark, so the page's median
    cannot say; the marks are the rarer and stronger departures from the local median: a long tail
    on their side of it."""
    step = max(1, min(g.shape) // 64)
    small = g[::step, ::step]
    off = small - ndimage.median_filter(small, size=max(3, min(small.shape) // 4) | 1, mode="nearest")
    return float(np.percentile(off, 99.5)) > -float(np.percentile(off, 0.5))


def _stroke_width(g):
    """About how wide the pen's strokes are, in pixels: from a rough ink mask of a smaller copy (its
    paper a closing as wide as a quarter of the page), twice the median distance of ink to paper.
    The paper's closing is then made a few strokes wide: wider windows fill the narrow corners of
    hard shadows and read them as ink."""
    step = max(1, min(g.shape) // 256)
    small = g[::step, ::step]
    paper = ndimage.grey_closing(small, size=max(3, min(small.shape) // 4) | 1, mode="nearest")
    dark = paper - small
    mask = dark > 0.5 * max(float(np.percentile(dark, 99.5)), 1e-6)
    depth = ndimage.distance_transform_edt(mask)[mask]
    width = 4.0 * float(np.median(depth)) * step if depth.size else 3.0
    return int(np.clip(width, 3, max(3, min(g.shape) // 4)))


def working_copy(gray):
    """A large page shrunk (by an integer factor, area averaging) until its pen strokes are about 6
    pixels wide: a phone's photo of a number then takes a fraction of the time, and the digits still
    come to the model from many more pixels than its 20. Small pages are kept as they are."""
    g = np.asarray(gray, dtype=np.float32) / 255.0
    if min(g.shape) < 600:
        return gray
    factor = _stroke_width(1.0 - g if _light_ink(g) else g) // 6
    if factor < 2:
        return gray
    return np.asarray(Image.fromarray(np.asarray(gray, dtype=np.uint8)).reduce(int(factor)))


def _denoise(g):
    """`g` smoothed by a Gaussian as wide as its noise calls for (none on a clean page). The noise is
    measured from neighbouring pixels' differences, which on paper are noise alone."""
    sigma = float(np.median(np.abs(np.diff(g[:, :: max(1, g.shape[1] // 512)], axis=0)))) / (0.6745 * np.sqrt(2))
    if sigma < 0.02:
        return g
    return ndimage.gaussian_filter(g, min(10.0 * sigma, 3.0, min(g.shape) / 80))


def otsu_threshold(values):
    hist, edges = np.histogram(values, bins=256, range=(0, 1))
    centers = (edges[:-1] + edges[1:]) / 2
    weight = np.cumsum(hist)
    total = weight[-1]
    mean = np.cumsum(hist * centers)
    between = (mean[-1] * weight / total - mean) ** 2 / np.maximum(weight * (total - weight), 1)
    return float(centers[np.argmax(between)])


def ink_mask(ink, min_fraction=0.0005):
    """Boolean ink pixels by hysteresis: pixels above half the Otsu threshold count when they are
    connected to pixels above it, so faint stretches of a stroke stay attached to it. Specks much
    smaller than the largest stroke are dropped."""
    high = max(otsu_threshold(ink.ravel()), 0.2)
    weak = ink > high / 2
    labels, n = ndimage.label(weak, structure=np.ones((3, 3)))
    if n == 0:
        return weak
    index = np.arange(1, n + 1)
    strong = ndimage.maximum(ink, labels, index=index) > high
    sizes = ndimage.sum(weak, labels, index=index)
    keep = strong & (sizes >= max(sizes[strong].max(initial=0) * 0.05, min_fraction * weak.size))
    return np.isin(labels, index[keep])


def to_mnist(mask):
    """The MNIST recipe on a digit's ink mask: uint8 (28, 28), ink 255.

    MNIST's digits came from binary NIST images, and their grey edges come from anti-aliasing in
    the size normalisation. So the digit is binarised (the hysteresis mask), then shrunk by area
    averaging, which makes those same grey edges. Shrinking the photo's own grey levels instead
    carries its blur halo into the field: the default model kept 96.0% of its accuracy that way
    against 98.4% this way (bench/photo_digits.py images, 1,500 digits)."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    crop = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = crop.shape
    scale = 20.0 / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    method = Image.BOX if scale < 1 else Image.BILINEAR  # BOX is area averaging, for shrinking only
    small = np.asarray(Image.fromarray(crop.astype(np.uint8) * 255).resize(size, method), dtype=np.float32)
    field = np.zeros((28, 28), dtype=np.float32)
    top, left = (28 - size[1]) // 2, (28 - size[0]) // 2
    field[top : top + size[1], left : left + size[0]] = small
    cy, cx = ndimage.center_of_mass(field)
    field = ndimage.shift(field, (CENTRE - cy, CENTRE - cx), order=1, mode="constant", cval=0.0)
    # Thin strokes never reach full strength when shrunk; MNIST's stroke cores are near 255.
    inked = field[field > 0.25 * field.max()]
    core = np.percentile(inked, 60) if inked.size else max(field.max(), 1e-6)
    return np.clip(np.rint(field * 255.0 / max(core, 1e-6)), 0, 255).astype(np.uint8)


def page_mask(gray, name="image"):
    """The ink mask of a page, or InputFileError when there is no ink on it."""
    ink = ink_map(gray)
    if ink is None:
        raise InputFileError(f"{name}: no ink found (an empty or blank page?); the digit must stand out from the paper")
    mask = ink_mask(ink)
    if not mask.any():
        raise InputFileError(f"{name}: no ink found; is the digit visible and in focus?")
    return mask


def prepare_array(gray, name="image"):
    """One digit on a page → uint8 (28, 28) in MNIST's style."""
    return to_mnist(page_mask(gray, name))
