from django.core.management.base import BaseCommand, CommandError

from opshub.accounts.models import ApiToken, User


class Command(BaseCommand):
    help = "Print a new API token for a user. The token is stored hashed and shown only now."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--name", default="command line")

    def handle(self, *args, email, name, **options):
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"No user with the email {email!r}.")
        _, raw = ApiToken.issue(user=user, name=name)
        self.stdout.write(raw)
