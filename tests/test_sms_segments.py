"""GSM-7 / UCS-2 segment counting (GSM 03.38 basic and extension tables)."""
from plugins.sms.segments import GSM7, UCS2, count, is_gsm7


def test_empty_text_takes_no_segment():
    assert count("").segments == 0


def test_gsm7_single_and_multipart_limits():
    assert count("a" * 160) == count("a" * 160).__class__(GSM7, 160, 1, 160)
    assert count("a" * 161).segments == 2 and count("a" * 161).per_segment == 153
    assert count("a" * 306).segments == 2
    assert count("a" * 307).segments == 3


def test_french_accents_of_the_basic_table_stay_gsm7_but_others_switch_to_ucs2():
    assert is_gsm7("Voilà, à bientôt"[:6] + "é è ù ì ò à Ç")
    assert not is_gsm7("à bientôt")  # ô is not in GSM 03.38
    assert not is_gsm7("l’offre")  # typographic apostrophe
    assert count("à bientôt").encoding == UCS2


def test_extension_characters_count_two_septets_and_are_never_split():
    assert count("€").units == 2
    assert count("[" * 80).segments == 1  # 160 septets
    assert count("a" + "[" * 80).segments == 2  # 161 septets
    # 152 plain septets then an escape pair: the pair does not fit in the first 153, it opens segment 2
    text = "a" * 152 + "€" + "a" * 10
    assert count(text).units == 164 and count(text).segments == 2
    assert count("a" * 152 + "€" * 77).segments == 3  # 152+154 septets: one more than 306/153


def test_ucs2_limits_and_surrogate_pairs():
    assert count("ê" * 70).segments == 1
    assert count("ê" * 71).segments == 2 and count("ê" * 71).per_segment == 67
    assert count("ê" * 134).segments == 2 and count("ê" * 135).segments == 3
    assert count("😀").units == 2
    assert count("ê" * 66 + "😀" + "ê" * 66).units == 134
    assert count("ê" * 66 + "😀" + "ê" * 66).segments == 3  # the emoji is not cut: 66, then 2 + 65, then 1


def test_cost():
    assert count("a" * 200).cost(0.05) == 0.1
