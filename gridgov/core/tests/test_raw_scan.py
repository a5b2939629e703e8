"""No plaintext ID number or phone at rest: build the small demo in a subprocess (its own
database: a SQLite file, and a scratch PostgreSQL database dumped with pg_dump), then scan the
raw bytes for every value the database holds encrypted (decrypted here with the same keys) and
for anything that looks like one (18-digit ID numbers with a valid birth date and GB 11643 check character,
11-digit mobiles). Free text too: after the demo, a resident files a report whose text and address
hold an ID number and mobiles, staff write notes with a mobile, the resident rates with an ID
number in the comment — all through the services, as the doors do — and none of it may be found
in plaintext (it is masked at intake, the originals encrypted)."""

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import uuid

import pytest
from cryptography.fernet import Fernet, MultiFernet

from gridgov.core.validators import id_check_char, id_number_error

KEY = Fernet.generate_key().decode()
ENV = {"GRIDGOV_FIELD_KEYS": KEY, "GRIDGOV_INDEX_KEY": "scan-index-key", "GRIDGOV_SECRET_KEY": "scan-secret-key"}
# not inside a longer run of letters and digits (hex blind indexes, base64url Fernet tokens hold
# digit runs by chance, and so do decimals); the exact known values are checked without this boundary
_B, _A = rb"(?<![0-9A-Za-z_.\-])", rb"(?![0-9A-Za-z_.\-])"
ID_RE = re.compile(_B + rb"[1-9][0-9]{16}[0-9Xx]" + _A)
MOBILE_RE = re.compile(_B + rb"1[3-9][0-9]{9}" + _A)
# (table, encrypted columns) holding ID numbers and phones
ENC = {"registry_resident": ("id_number_enc", "phone_enc"), "registry_organization": ("phone_enc",),
       "registry_volunteer": ("phone_enc",), "accounts_user": ("phone_enc",), "open311_open311request": ("phone_enc",)}


def _id(first17):
    return first17 + id_check_char(first17)


# personal data typed into free text (issue 16): must be masked at intake
FREE = {"id": _id("11010619850312001"), "id2": _id("11010619770101002"), "m1": "13912345678", "m2": "13800138000",
        "m3": "13700001111"}
FREE_TEXT_SCRIPT = f"""
from shapely import wkt
from gridgov.accounts.models import User
from gridgov.cases import services as s
from gridgov.geo.models import GridNode
g = GridNode.objects.exclude(geom_wkt="").order_by("-level", "id").first()
p = wkt.loads(g.geom_wkt).representative_point()
r, a, b = (User.objects.get(username=n) for n in ("resident1", "leader1", "leader2"))
c, _ = s.submit_case(reporter=r, channel="resident", text="路灯坏了，身份证{FREE['id']}，电话{FREE['m1']}", lon=p.x, lat=p.y,
                     address="3号楼 {FREE['m2']}", item="PS01")
if c.state == "submitted":
    s.dispatch(c, a)
s.accept(c, a, note="回电{FREE['m3']}")
s.resolve(c, a, note="已修好路灯")
s.verify(c, b)
s.rate(c, r, "basic", comment="满意，我的证件{FREE['id2']}")
"""


def _gridgov(args, env):
    subprocess.run([sys.executable, "-m", "gridgov", *args], check=True, env=env, capture_output=True, timeout=300,
                   cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__)))))


def _build_demo(env):
    _gridgov(["migrate", "-v0"], env)
    _gridgov(["demo", "--scale", "0.01"], env)
    _gridgov(["shell", "-c", FREE_TEXT_SCRIPT], env)


def _plaintexts(rows) -> set[bytes]:
    f = MultiFernet([Fernet(KEY.encode())])
    return {f.decrypt(t.encode()) for t in rows if t} | {v.encode() for v in FREE.values()}


def _assert_clean(raw: bytes, known: set[bytes]):
    assert len(known) > 100  # the demo holds hundreds of ID numbers and phones
    leaked = [k for k in known if k in raw]
    assert leaked == []
    ids = [m.group().upper() for m in ID_RE.finditer(raw)]
    # a valid birth date and check character (GB 11643); grid codes of 18 digits are not
    valid = [i for i in ids if id_number_error(i.decode()) is None]
    assert valid == []
    mobiles = [raw[max(0, m.start() - 30):m.end() + 10] for m in MOBILE_RE.finditer(raw)]
    assert mobiles == []


@pytest.mark.slow
def test_sqlite_file_holds_no_plaintext(tmp_path):
    env = {**os.environ, **ENV, "GRIDGOV_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    _build_demo(env)
    db = tmp_path / "gridgov.sqlite3"
    con = sqlite3.connect(db)
    tokens = [t for table, cols in ENC.items() for c in cols for (t,) in con.execute(f"SELECT {c} FROM {table}")]
    con.close()
    _assert_clean(db.read_bytes(), _plaintexts(tokens))


@pytest.mark.slow
def test_postgresql_dump_holds_no_plaintext(tmp_path):
    # the issue asks for a scan of a PostgreSQL dump: missing tools or server are a failure, not a skip
    assert shutil.which("pg_dump") and shutil.which("psql"), "PostgreSQL client tools (pg_dump, psql) are not installed"
    name = f"gridgov_scan_{uuid.uuid4().hex[:8]}"
    base = ["-h", "127.0.0.1", "-U", "postgres"]
    try:
        subprocess.run(["psql", *base, "-d", "postgres", "-c", f"CREATE DATABASE {name}"], check=True, capture_output=True)
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"no PostgreSQL server at 127.0.0.1:5432: {exc.stderr.decode()[:200]}")
    try:
        env = {**os.environ, **ENV, "GRIDGOV_DATA_DIR": str(tmp_path),
               "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{name}"}
        _build_demo(env)
        raw = subprocess.run(["pg_dump", *base, "--format=plain", name], check=True, capture_output=True).stdout
        tokens = []
        for table, cols in ENC.items():
            for c in cols:
                out = subprocess.run(["psql", *base, "-d", name, "-At", "-c", f"SELECT {c} FROM {table} WHERE {c} <> ''"],
                                     check=True, capture_output=True).stdout.decode()
                tokens += [t for t in out.splitlines() if t]
        _assert_clean(raw, _plaintexts(tokens))
    finally:
        subprocess.run(["psql", *base, "-d", "postgres", "-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"],
                       capture_output=True)
