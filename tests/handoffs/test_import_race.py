"""Two files with the same external reference committed at the same moment, on two real
connections: one imports, the other is refused with a message, never an error page."""

import threading

from django.core.exceptions import ValidationError
from django.db import connection

from handoffs.models import ImportBatch, WorkItem
from handoffs.work import imports

MAPPING = {
    "Title": "title",
    "Ref": "external_ref",
    "PO": "fields.po_number",
    "Amount": "fields.amount",
}


def test_simultaneous_imports_of_one_reference_create_one_item(transactional_db, workflow, lead):
    content = b"Title,Ref,PO,Amount\nOrder,SAME-1,PO-1,10\n"
    batches = [
        ImportBatch.objects.create(
            workflow=workflow, filename=f"{n}.csv", content=content, uploaded_by=lead, row_count=1
        )
        for n in range(2)
    ]
    barrier = threading.Barrier(2)
    outcomes = []

    def commit(batch):
        try:
            barrier.wait()
            imports.import_commit(batch=batch, mapping=MAPPING, by=lead)
            outcomes.append("imported")
        except ValidationError as refusal:
            outcomes.append(refusal.messages[0])
        finally:
            connection.close()

    threads = [threading.Thread(target=commit, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    assert len(outcomes) == 2 and outcomes.count("imported") == 1
    [refusal] = [outcome for outcome in outcomes if outcome != "imported"]
    assert "SAME-1" in refusal or "run the dry run again" in refusal
    assert WorkItem.objects.count() == 1
