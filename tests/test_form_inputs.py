"""One way to turn a form into a service input: the form's ``to_input()`` (the same dataclass the
API fills from JSON). No view builds a service input from form fields by hand."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "mediation"


def _uses_a_form(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Attribute) and isinstance(n.value, ast.Attribute)
               and isinstance(n.value.value, ast.Name) and n.value.value.id == "form" for n in ast.walk(node))


def test_views_build_service_inputs_through_the_form():
    offenders = []
    for path in sorted(ROOT.rglob("*views.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if name.endswith("Input") and _uses_a_form(node):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    assert offenders == [], offenders


def test_the_check_sees_a_hand_built_input(tmp_path):
    source = "def view(form):\n    return services.IssuerInput(form.name.data, form.url.data)\n"
    call = next(n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call))
    assert call.func.attr.endswith("Input") and _uses_a_form(call)
