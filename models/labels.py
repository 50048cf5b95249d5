"""The seven intents, in a fixed order that is also the model's output order.

The order is part of the shipped model's contract (its label map is written from it), so new
intents are appended, never inserted.
"""

from typing import Final

INTENTS: Final[tuple[str, ...]] = (
    "new_patient_inquiry",
    "existing_patient_question",
    "appointment_request",
    "billing_inquiry",
    "clinical_concern",
    "complaint",
    "price_shopper",
)
