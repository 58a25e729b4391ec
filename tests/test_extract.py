from harness.extract import extract

FINAL = '''import torch
class ModelNew(torch.nn.Module):
    def forward(self, x):
        return x.relu()
'''
DRAFT = FINAL.replace("x.relu()", "x")


def test_plain_python_file_taken_whole():
    e = extract("import os\nthis is not valid python", is_python_file=True)
    assert e.code.startswith("import os") and e.block is None


def test_last_block_defining_modelnew_wins_and_think_is_ignored():
    reply = (
        "<think>\nLet me try\n```python\nclass ModelNew: pass  # thinking draft\n```\nhmm\n</think>\n"
        "Here is a first version:\n```python\n" + DRAFT + "```\n"
        "Helper to run it:\n```bash\npython run.py\n```\n"
        "Actually, fix the forward:\n```py\n" + FINAL + "```\nDone.\n"
    )
    e = extract(reply)
    assert e.code == FINAL
    assert e.block == 2  # blocks outside <think>: draft (0), bash (1), final (2)


def test_bare_and_tilde_fences():
    assert extract("text\n```\n" + FINAL + "```\n").code == FINAL
    assert extract("text\n~~~python\n" + FINAL + "~~~\n").code == FINAL


def test_block_without_modelnew_is_not_taken():
    e = extract("```python\n" + FINAL + "```\nand a util:\n```python\ndef helper(): pass\n```\n")
    assert e.code == FINAL and e.block == 0


def test_unterminated_last_fence_still_counts():
    e = extract("Answer:\n```python\n" + FINAL)
    assert e.code is not None and "class ModelNew" in e.code


def test_no_code_reasons():
    assert extract("I cannot help with that.").code is None
    assert extract("```bash\nls\n```").reason == "no code block defines ModelNew"
    e = extract("<think>```python\n" + FINAL + "```</think>\nNo answer.")
    assert e.code is None and "think" in e.reason


def test_unclosed_think_hides_everything_after_it():
    assert extract("<think>\n```python\n" + FINAL + "```\n").code is None
