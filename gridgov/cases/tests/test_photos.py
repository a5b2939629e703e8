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


def _upload(data, name="p.png"):
    return SimpleUploadedFile(name, data, content_type="image/png")


def test_total_pixels_of_a_report_are_limited_before_decoding(people, client, settings):
    """The probe: nine photos each under the single-photo limit (6,300 × 6,300 PNGs) decoded
    one after the other. The report's total is read from the headers first: refused, nothing
    decoded, no case. Here with lowered limits and headers that claim the canvas."""
    settings.CASES_MAX_PHOTO_PIXELS = 10_000
    settings.CASES_MAX_REPORT_PHOTO_PIXELS = 30_000
    client.force_login(people["resident"])
    each = [_upload(images.png_bomb(90, 90), f"{i}.png") for i in range(4)]  # 8,100 px each, 32,400 in all
    r = client.post("/api/cases/", {"text": "路灯坏了", "lon": P_C1G1[0], "lat": P_C1G1[1], "photos": each})
    assert r.status_code == 400, r.content
    assert r.json()["detail"] == "photos: 32400 pixels in all, more than the 30000 allowed (send smaller photos)"
    assert not services.Case.objects.exists()
    # three of them fit (the headers claim 24,300 px; these are real images, decoded and kept)
    ok = [_upload(images.png((90, 90)), f"{i}.png") for i in range(3)]
    r = client.post("/api/cases/", {"text": "路灯坏了", "lon": P_C1G1[0], "lat": P_C1G1[1], "photos": ok})
    assert r.status_code in (200, 201), r.content
    assert services.Case.objects.get().photos.count() == 3


def test_total_bytes_of_a_report_are_limited_before_reading(people, client, settings):
    settings.CASES_MAX_PHOTO_BYTES = 2000
    settings.CASES_MAX_REPORT_PHOTO_BYTES = 3000
    client.force_login(people["resident"])
    two = [_upload(b"\x89PNG\r\n\x1a\n" + b"\x00" * 1800, f"{i}.png") for i in range(2)]
    r = client.post("/api/cases/", {"text": "路灯坏了", "lon": P_C1G1[0], "lat": P_C1G1[1], "photos": two})
    assert r.status_code == 400 and r.json()["detail"] == "photos: more than the 3000 bytes allowed in all"
    assert not services.Case.objects.exists()


def test_one_photo_over_its_own_limit_is_named_before_the_total(settings):
    settings.CASES_MAX_PHOTO_PIXELS = 10_000
    settings.CASES_MAX_REPORT_PHOTO_PIXELS = 15_000
    with pytest.raises(PhotoError, match=r"photo 2: 200×100 pixels"):
        services.read_photos([images.png((10, 10)), images.png_bomb(200, 100)])
