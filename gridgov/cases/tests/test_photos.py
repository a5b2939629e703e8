"""Uploaded photos are checked by content, decoded in full, size- and pixel-limited, and kept
without EXIF (no GPS position or camera data in what is served)."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from gridgov.cases import services
from gridgov.cases.photos import PhotoError, clean_image

from . import images
from .conftest import P_C1G1


def test_gps_exif_is_stripped_from_the_stored_copy(people, report):
    raw = images.jpeg_with_gps()
    assert Image.open(io.BytesIO(raw)).getexif().get_ifd(0x8825)  # the fixture really has a GPS fix
    assert b"SecretCam" in raw
    case = report(photos=[raw])
    photo = case.photos.get()
    stored = photo.file.read()
    assert photo.content_type == "image/jpeg" and photo.size == len(stored)
    im = Image.open(io.BytesIO(stored))
    assert im.size == (16, 12)
    assert not im.getexif() and "exif" not in im.info
    assert b"SecretCam" not in stored and b"SN-123456" not in stored and b"GPS" not in stored


def test_png_text_chunks_are_dropped():
    from PIL.PngImagePlugin import PngInfo

    meta = PngInfo()
    meta.add_text("Comment", "home address: 3-1-502")
    buf = io.BytesIO()
    Image.new("RGBA", (4, 4), (1, 2, 3, 128)).save(buf, "PNG", pnginfo=meta)
    out, ctype = clean_image(buf.getvalue())
    assert ctype == "image/png" and b"3-1-502" not in out
    assert Image.open(io.BytesIO(out)).getpixel((0, 0)) == (1, 2, 3, 128)


def test_decompression_bomb_is_refused_with_a_clear_error(people, report):
    with pytest.raises(services.InvalidInput, match=r"photo 1: more pixels than the 40000000 allowed \(decompression bomb"):
        report(photos=[images.png_bomb()])


def test_pixel_limit_is_configurable(settings):
    settings.CASES_MAX_PHOTO_PIXELS = 40
    with pytest.raises(PhotoError, match="8×6 pixels"):
        clean_image(images.png((8, 6)))
    assert clean_image(images.png((5, 5)))[1] == "image/png"


@pytest.mark.parametrize("data", [
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,  # right magic, no image behind it
    images.jpeg_with_gps()[:60],  # truncated JPEG
    b"GIF89a<script>alert(1)</script>",  # a polyglot
])
def test_files_that_only_start_like_an_image_are_refused(data):
    with pytest.raises(PhotoError, match="not a readable image"):
        clean_image(data)


def test_size_limit_and_the_name_is_ignored(people, client, settings):
    settings.CASES_MAX_PHOTO_BYTES = 2000
    client.force_login(people["resident"])
    big = SimpleUploadedFile("a.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 3000, content_type="image/png")
    r = client.post("/api/cases/", {"text": "路灯坏了", "lon": P_C1G1[0], "lat": P_C1G1[1], "photos": [big]})
    assert r.status_code == 400 and "more than the 2000 allowed" in r.json()["detail"]
    html = SimpleUploadedFile("evil.jpg", b"<html><script>alert(1)</script></html>", content_type="image/jpeg")
    r = client.post("/api/cases/", {"text": "路灯坏了", "lon": P_C1G1[0], "lat": P_C1G1[1], "photos": [html]})
    assert r.status_code == 400 and "photo 1: not an image" in r.json()["detail"]
    assert not services.Case.objects.exists()
