#!/usr/bin/env python3
"""Writes the deep-nesting cases of nesting.ftl that are too long to keep
literally: nested blocks, and recipes calling recipes."""

pieces = []

# 257 nested loops: the innermost `{` is one too many.
loops = ["loop r%d in 1..2 {" % i for i in range(257)]
pieces.append(
    "// expected-error @+1 {{blocks nested too deeply: expected at most 256 "
    "levels, found more; move inner blocks into a 'def' [nesting-too-deep]}}\n"
    + " ".join(loops) + " log 1 " + "}" * 257 + "\n")

# 40 recipes, each calling the next: the 33rd nested call is refused.
defs = []
for i in range(40):
    body = "f%d(x)" % (i + 1) if i < 39 else "log x"
    expect = ""
    if i == 32:
        expect = ("  // expected-error @+1 {{function calls nested too deeply: "
                  "expected at most 32 levels, found more; call fewer functions "
                  "inside each other [nesting-too-deep]}}\n")
    defs.append("def f%d(x: int) {\n%s  %s\n}" % (i, expect, body))
pieces.append("\n".join(defs) + "\nf0(1)\n")

# Recipes whose bodies nest expressions deeply: the checker's total depth
# (across the calls) is bounded too.
defs = []
for i in range(8):
    inner = "f%d(x)" % (i + 1) if i < 7 else "x"
    expr = "[" * 200 + inner + "]" * 200
    expect = ""
    if i == 5:
        expect = ("  // expected-error @+1 {{statements and expressions "
                  "(across function calls) nested too deeply: expected at most "
                  "1024 levels, found more; call fewer functions inside each "
                  "other [nesting-too-deep]}}\n")
    defs.append("def f%d(x: int) {\n%s  log %s\n}" % (i, expect, expr))
pieces.append("\n".join(defs) + "\nf0(1)\n")

print("\n// -----\n\n".join(pieces), end="")
