from models.corpus import DATA_DIR
from models.data_card import render_data_card


def test_checked_in_data_card_matches_the_corpus() -> None:
    """data/README.md is generated; regenerate with `frontdesk data-card` after changing data/."""
    assert (DATA_DIR / "README.md").read_text() == render_data_card()
