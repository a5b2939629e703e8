"""`gridgov hotline train [--labelled FILE.csv] [--from-db] [--taxonomy FILE.xlsx] [--unlabelled FILE.xlsx] [--self-train]`"""

from pathlib import Path

from django.core.management.base import CommandError

help = "train the ticket classifier from the taxonomy, labelled tickets and optional unlabelled ones"


def add_arguments(parser):
    parser.add_argument("--labelled", help="CSV/XLSX with columns subject, detail, label (optional: zero-shot without)")
    parser.add_argument("--from-db", action="store_true",
                        help="also learn from the tickets whose category staff set (category_source = staff): "
                        "their content and level-1 category; with --labelled, both are used. The database's "
                        "other tickets (the latest 2,000) join the unlabelled texts")
    parser.add_argument("--taxonomy", help="taxonomy .xlsx/.csv (level 1 / level 2 / level 3); "
                        "default: ../shared/data/hotline/taxonomy.xlsx from the project root")
    parser.add_argument("--unlabelled", help="CSV/XLSX of unlabelled tickets (subject, detail): with fewer than 20 "
                        "labelled texts, the zero-shot scores are centred on their mean (docs/hotline-classifier.md)")
    parser.add_argument("--self-train", action="store_true",
                        help="also self-train on the unlabelled tickets (lowered macro-F1 on the 12345 dev data)")
    parser.add_argument("--out", help="where to save the model (default: $GRIDGOV_DATA_DIR/models/hotline-classifier.joblib)")


def handle(options, out, err):
    from gridgov.hotline.classifier import ClassifierConfig, TextClassifier, clean_text, default_model_path
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
        n_staff = 0
        if options.get("from_db"):
            from gridgov.hotline.services import staff_labelled_examples

            staff, skipped = staff_labelled_examples(taxonomy.names)
            if skipped:
                say(f"{skipped} staff-corrected ticket(s) left out: their category is not a label of {tax_path.name}")
            # a text labelled in the file and corrected by staff keeps the staff label
            corrected = {clean_text(t) for t, _ in staff}
            examples = [(t, lab) for t, lab in examples if clean_text(t) not in corrected] + staff
            n_staff = len(staff)
        if options.get("unlabelled"):
            unlabelled, _, _, _ = read_tickets(options["unlabelled"])
        if options.get("from_db"):
            from gridgov.hotline.services import unlabelled_ticket_texts

            unlabelled = unlabelled + unlabelled_ticket_texts()
    except DataFileError as exc:
        raise CommandError(str(exc)) from exc
    say(f"taxonomy: {tax_path} ({len(taxonomy.labels)} labels); labelled: {len(examples)}"
        + (f" ({n_staff} from staff corrections)" if options.get("from_db") else "") + f"; unlabelled: {len(unlabelled)}")
    # corrections alone are a biased sample (the tickets the model got wrong), not the office's
    # history: only a labelled file restricts the labels to those it uses
    config = ClassifierConfig(self_train=bool(options.get("self_train") and unlabelled),
                              restrict_to_labelled=bool(options.get("labelled")))
    clf = TextClassifier(taxonomy, config).fit(examples, unlabelled, progress=say)
    path = clf.save(Path(options["out"]) if options.get("out") else default_model_path())
    say(f"labels: {', '.join(clf.labels)}")
    say(f"zero-shot centred on {clf.meta['centred_on']}" if clf.meta.get("centred_on") else "zero-shot not centred "
        f"(fewer than {config.centre_min_texts} labelled or unlabelled texts)")
    out.write(f"saved {path}\n")
