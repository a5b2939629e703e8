"""Demo street build speed: residents per second of the whole build (grids, base data, users)
at scale 0.05, beside the bare cost of encrypting their personal data (Fernet + blind index)."""

from bench.common import report, timed

SCALE = 0.05


def run():
    from gridgov.demo import builder
    from gridgov.registry.models import Resident

    secs, result = timed(builder.build, seed=2024, scale=SCALE, reset=True)
    n = result["counts"]["residents"]

    def encrypt_only():
        for i in range(n):
            r = Resident()
            r.set_personal("id_number", f"11010619800101{i % 1000:03d}X")
            r.set_personal("phone", f"139{i:08d}")

    enc_secs, _ = timed(encrypt_only)
    report("demo build, residents per second", n / secs, "residents/s", "encrypt id+phone only", n / enc_secs)
    report("demo build, base records per second", result["counts"]["base_records"] / secs, "records/s", "encrypt id+phone only", n / enc_secs)
