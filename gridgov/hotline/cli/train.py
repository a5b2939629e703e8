"""`gridgov hotline train --labelled FILE.csv [--taxonomy FILE.xlsx] [--unlabelled FILE.xlsx]`"""

from pathlib import Path

from django.core.management.base import CommandError

help = "train the ticket classifier from the taxonomy, labelled tickets and optional unlabelled ones"


def add_arguments(parser):
    parser.add_argument("--labelled", help="CSV/XLSX with columns subject, detail, label (optional: zero-shot without)")
    parser.add_argument("--taxonomy", help="taxonomy .xlsx/.csv (level 1 / level 2 / level 3); "
                        "default: ../shared/data/hotline/taxonomy.xlsx from the project root")
    parser.add_argument("--unlabelled", help="CSV/XLSX of unlabelled tickets (subject, detail): turns on self-training, "
                        "which lowered macro-F1 on the 12345 dev data (docs/hotline-classifier.md)")
    parser.add_argument("--out", help="where to save the model (default: $GRIDGOV_DATA_DIR/models/hotline-classifier.joblib)")


def handle(options, out, err):
    from gridgov.hotline.classifier import ClassifierConfig, TextClassifier, default_model_path
    from gridgov.hotline.io import read_tickets
    from gridgov.hotline.paths import default_taxonomy_path
    from gridgov.hotline.taxonomy import DataFileError, Taxonomy

    def say(msg):
        err.write(msg + "\n")
        err.flush()

    tax_path = Path(options["taxonomy"]) if options.get("taxonomy") else default_taxonomy_path()
    try:
        taxonomy = Taxonomy.from_file(tax_path)
        examples, unlabelled = [], []
        if options.get("labelled"):
            texts, labels, _, _ = read_tickets(options["labelled"], need_label=True)
            unknown = sorted(set(labels) - set(taxonomy.names))
            if unknown:
                raise DataFileError(f"{options['labelled']}: column 'label': not in the taxonomy: {', '.join(unknown)}")
            examples = list(zip(texts, labels))
        if options.get("unlabelled"):
            unlabelled, _, _, _ = read_tickets(options["unlabelled"])
    except DataFileError as exc:
        raise CommandError(str(exc)) from exc
    say(f"taxonomy: {tax_path} ({len(taxonomy.labels)} labels); labelled: {len(examples)}; unlabelled: {len(unlabelled)}")
    config = ClassifierConfig(self_train=bool(unlabelled))
    clf = TextClassifier(taxonomy, config).fit(examples, unlabelled, progress=say)
    path = clf.save(Path(options["out"]) if options.get("out") else default_model_path())
    say(f"labels: {', '.join(clf.labels)}")
    out.write(f"saved {path}\n")
