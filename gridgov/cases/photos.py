"""Checks of uploaded photos: by content, never by name.

Each photo is (1) at most CASES_MAX_PHOTO_BYTES long, (2) recognised by its magic bytes as
JPEG, PNG, GIF or WebP, (3) decoded by Pillow in full (a file that only starts like an image is
refused), with its pixel count checked against CASES_MAX_PHOTO_PIXELS from the header *before*
decoding (a decompression bomb — a small file that claims a huge canvas — is refused without
allocating it), and (4) re-encoded: the copy kept and served carries no metadata at all (EXIF
GPS position, camera make and serial, thumbnails, XMP, comments). The EXIF orientation is applied
to the pixels first, so the stripped copy shows the right way up. The original bytes are not
kept: the case has its own location, and an original with a GPS fix is personal data nobody needs.

The photos of one report together (`read_photos`): at most CASES_MAX_PHOTOS, at most
CASES_MAX_REPORT_PHOTO_BYTES bytes in all (each upload's size is checked before it is read), and
at most CASES_MAX_REPORT_PHOTO_PIXELS pixels in all, summed from every photo's header before
the first one is decoded."""

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from . import conf

MAGIC = [
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
]
# Pillow format name → (content type, format to re-encode as)
FORMATS = {"JPEG": ("image/jpeg", "JPEG"), "PNG": ("image/png", "PNG"), "GIF": ("image/png", "PNG"), "WEBP": ("image/webp", "WEBP")}


class PhotoError(ValueError):
    pass


def sniff_image(data: bytes) -> str | None:
    """The image type by its first bytes (the name and the declared type are ignored)."""
    for magic, ctype in MAGIC:
        if data.startswith(magic):
            return ctype
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if len(data) >= 12 and data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"hevc"):
        return "image/heic"
    return None


def clean_image(data: bytes, where: str = "photo") -> tuple[bytes, str]:
    """(re-encoded bytes without metadata, content type) or PhotoError saying what is wrong."""
    limit = conf.get_int("CASES_MAX_PHOTO_BYTES")
    if len(data) > limit:
        raise PhotoError(f"{where}: {len(data)} bytes, more than the {limit} allowed")
    ctype = sniff_image(data)
    if ctype is None:
        raise PhotoError(f"{where}: not an image (JPEG, PNG, GIF or WebP by its content)")
    if ctype == "image/heic":
        raise PhotoError(f"{where}: HEIC is not accepted; send JPEG (phones convert when sharing)")
    max_pixels = conf.get_int("CASES_MAX_PHOTO_PIXELS")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
            w, h = im.size
            if w * h > max_pixels:
                raise PhotoError(f"{where}: {w}×{h} pixels, more than the {max_pixels} allowed (decompression bomb?)")
            if im.format not in FORMATS:
                raise PhotoError(f"{where}: {im.format} images are not accepted")
            im.load()
            im = ImageOps.exif_transpose(im)
    except PhotoError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoError(f"{where}: more pixels than the {max_pixels} allowed (decompression bomb?)") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise PhotoError(f"{where}: not a readable image ({exc.__class__.__name__}: {exc})") from None
    out_type, fmt = FORMATS[Image.open(io.BytesIO(data)).format]
    if fmt == "JPEG" and im.mode not in ("RGB", "L"):
        im = im.convert("RGB")
    if fmt in ("PNG", "WEBP") and im.mode not in ("RGB", "RGBA", "L", "LA", "P", "1"):
        im = im.convert("RGBA")
    clean = Image.new(im.mode, im.size)  # a fresh image: no info dict, no EXIF, no ICC, no text chunks
    clean.frombytes(im.tobytes())
    if im.mode == "P":
        clean.putpalette(im.getpalette())
        if "transparency" in im.info:
            clean.info["transparency"] = im.info["transparency"]
    buf = io.BytesIO()
    kwargs = {"quality": 90, "optimize": True} if fmt == "JPEG" else {}
    clean.save(buf, fmt, **kwargs)
    return buf.getvalue(), out_type


def header_pixels(data: bytes) -> int:
    """Width × height from the image header alone (nothing decoded); 0 when the header cannot be
    read (clean_image then says what is wrong with the file)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            w, h = Image.open(io.BytesIO(data)).size
        return w * h
    except Image.DecompressionBombError:
        return conf.get_int("CASES_MAX_PHOTO_PIXELS") + 1
    except Exception:  # not an image: refused by clean_image with the reason
        return 0


def read_photos(photos) -> list[tuple[bytes, str]]:
    """The photos of one report or resolution (uploads, bytes or (name, bytes) tuples), each
    checked and re-encoded by clean_image, once the whole set has passed the limits on count,
    total bytes and total pixels (see the module docstring). PhotoError says what is wrong."""
    photos = list(photos or [])
    if len(photos) > conf.get_int("CASES_MAX_PHOTOS"):
        raise PhotoError(f"photos: at most {conf.get_int('CASES_MAX_PHOTOS')} photos")
    limit, total_limit = conf.get_int("CASES_MAX_PHOTO_BYTES"), conf.get_int("CASES_MAX_REPORT_PHOTO_BYTES")
    datas, total = [], 0
    for i, p in enumerate(photos, start=1):
        if isinstance(p, bytes):
            data = p
        elif isinstance(p, tuple):
            data = p[1]
        else:
            size = getattr(p, "size", 0) or 0
            if size > limit:  # refuse before reading an oversized upload
                raise PhotoError(f"photo {i}: {size} bytes, more than the {limit} allowed")
            if total + size > total_limit:
                raise PhotoError(f"photos: more than the {total_limit} bytes allowed in all")
            data = p.read(limit + 1)
        total += len(data)
        if total > total_limit:
            raise PhotoError(f"photos: more than the {total_limit} bytes allowed in all")
        datas.append(data)
    pixel_limit = conf.get_int("CASES_MAX_REPORT_PHOTO_PIXELS")
    each = [header_pixels(d) for d in datas]
    pixels = sum(each)
    if pixels > pixel_limit:
        for i, (data, px) in enumerate(zip(datas, each), start=1):
            if px > conf.get_int("CASES_MAX_PHOTO_PIXELS"):
                clean_image(data, f"photo {i}")  # one photo over its own limit: refused from its header, by name
        raise PhotoError(f"photos: {pixels} pixels in all, more than the {pixel_limit} allowed (send smaller photos)")
    return [clean_image(data, f"photo {i}") for i, data in enumerate(datas, start=1)]
