from django.core.management.base import BaseCommand

from gridgov.cases.taxonomy import seed_taxonomy


class Command(BaseCommand):
    help = "Load the packaged taxonomy (5 scenarios, 20 must-handle items) and the 11 routing paths with default rules; idempotent."

    def handle(self, *args, **options):
        r = seed_taxonomy()
        self.stdout.write(
            f"items: {r['created']} created, {r['updated']} updated; paths: {r['paths']}; rules created: {r['rules']}"
        )
