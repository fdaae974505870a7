"""Putting a service's ValidationError onto the form the user submitted."""


def add_service_errors(form, exc):
    """Per-field messages go to their field when the form has it, the rest to the form.

    Works for both shapes of ValidationError: a dict of fields and a plain list.
    """
    by_field = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
    for field, messages in by_field.items():
        form.add_error(field if field in form.fields else None, messages)
