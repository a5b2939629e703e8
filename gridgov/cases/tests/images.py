"""Real images made with Pillow for the photo tests (no binary fixtures in the repo)."""

import io
import struct
import zlib

from PIL import Image


def png(size=(8, 6), color=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def jpeg_with_gps(size=(16, 12)) -> bytes:
    """A JPEG whose EXIF holds a GPS fix (39.78N 116.38E), a camera make/model and a serial."""
    im = Image.new("RGB", size, (20, 120, 220))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0110] = "Model-X"  # Model
    exif[0xA431] = "SN-123456"  # BodySerialNumber
    exif[0x0112] = 1  # Orientation
    gps = {1: "N", 2: (39.0, 46.0, 48.0), 3: "E", 4: (116.0, 22.0, 48.0)}
    exif[0x8825] = gps
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif.tobytes())
    return buf.getvalue()


def png_bomb(width=100_000, height=100_000) -> bytes:
    """A valid PNG header (and one tiny IDAT) claiming a huge canvas: a decompression bomb."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
