"""Golden cases for preText: the official `pre_text` (InternVideo2/multi_modality/dataset/utils.py) logic,
run with Python's re. Re-run with /usr/bin/python3 gen_pre_text.py > pre_text.json"""
import json
import re


def pre_text(text, max_l=None):  # official logic, multi_modality/dataset/utils.py
    assert type(text) is str, text
    text = re.sub(r"([,.'!?\"()*#:;~])", '', text.lower())
    text = text.replace('-', ' ').replace('/', ' ').replace('<person>', 'person')
    text = re.sub(r"\s{2,}", ' ', text)
    text = text.rstrip('\n').strip(' ')
    if max_l:
        words = text.split(' ')
        if len(words) > max_l:
            text = ' '.join(words[:max_l])
    return text


CASES = [
    ("A man in a gray sweater plays fetch with his dog in the snowy yard, throwing a toy and watching it run.", None),
    ("  Hello,   WORLD!!  ", None),
    ("<person> walks to the car; then <PERSON> drives off.", None),
    ("well-known / half-baked ideas", None),
    ("What's \"this\" (really)? #tag *star* ~tilde: yes", None),
    ("tabs\t\tand\nnewlines\n\nmixed \t here\n", None),
    ("trailing newline\n", None),
    ("\u00a0\u00a0non breaking\u2003\u2003em space", None),
    ("one\x1c\x1dunit separators", None),
    ("BOM\ufeff\ufeffkept", None),
    ("a red circle moves left across the frame quickly and then stops", 5),
    ("Ünïcödé CAFÉ résumé", None),
    ("single", None),
    ("", None),
    ("...", None),
    (" - / - ", None),
    ("x\r\n\r\ny", None),
]

print(json.dumps([{"text": t, "max_l": m, "out": pre_text(t, m)} for t, m in CASES], ensure_ascii=False, indent=1))
