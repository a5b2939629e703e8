"""`gridgov hotline classify FILE.csv --out OUT.csv`: adds `predicted` and `confidence` columns."""

from pathlib import Path

from django.core.management.base import CommandError

help = "classify tickets (columns subject, detail) with the trained model"


def add_arguments(parser):
    parser.add_argument("file", help="CSV/XLSX with columns subject, detail")
    parser.add_argument("--out", required=True, help="output CSV: the input columns plus predicted, confidence")
    parser.add_argument("--model", help="model file (default: $GRIDGOV_DATA_DIR/models/hotline-classifier.joblib)")


def handle(options, out, err):
    from gridgov.hotline.classifier import get_classifier
    from gridgov.hotline.io import read_tickets
    from gridgov.hotline.taxonomy import DataFileError

    try:
        texts, _, header, rows = read_tickets(options["file"])
    except DataFileError as exc:
        raise CommandError(str(exc)) from exc
    try:
        clf = get_classifier(options.get("model"))
    except (FileNotFoundError, ValueError) as exc:
        raise CommandError(str(exc)) from exc
    err.write(f"classifying {len(texts)} tickets\n")
    preds = clf.predict(texts, progress=lambda done, total: err.write(f"  {done}/{total}\n"))
    out_path = Path(options["out"])
    out_path.parent.mkdir(parents=True, exist_ok=True)
    from gridgov.core.tabular import write_csv  # ticket texts: opened in a spreadsheet, never as formulas

    def out_rows():
        yield header + ["predicted", "confidence"]
        for row, p in zip(rows, preds):
            cells = ["" if c is None else c for c in row] + [""] * (len(header) - len(row))
            yield cells[: len(header)] + [p.label, f"{p.confidence:.3f}"]

    with out_path.open("w", encoding="utf-8", newline="") as fh:
        write_csv(fh, out_rows())
    out.write(f"wrote {len(preds)} rows to {out_path}\n")
