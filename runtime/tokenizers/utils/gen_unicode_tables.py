#!/usr/bin/env python3
# ===- gen_unicode_tables.py - Unicode tables for the tokenizers ----------===#
#
# Part of the ftl project.
#
# ===----------------------------------------------------------------------===#
"""Writes runtime/tokenizers/lib/UnicodeTables.inc.

The tables hold exactly what the pre-tokenizer scanners and normalizers need:

* per code point flags: General_Category L*, General_Category N*, White_Space
  (the \\s of Oniguruma and of the Rust regex crate), Alphabetic (Rust's
  char::is_alphabetic), "not quick-check Yes" for NFC/NFKC/NFD/NFKD, and
  "combining class is not 0";
* canonical combining classes;
* full canonical and compatibility decompositions (Hangul syllables are
  algorithmic and left out);
* the canonical composition pairs (primary composites only).

Categories come from Python's `unicodedata` (Unicode 14.0 on Debian 12's
Python 3.11). `tokenizers` 0.20 matches its split regexes with Oniguruma
6.9.8, also Unicode 14.0; `--check` compares our L/N/\\s classes against the
library's own regex engine for every code point. Alphabetic comes from the
`regex` module (Python's unicodedata does not expose it).

Usage: .venv/bin/python runtime/tokenizers/utils/gen_unicode_tables.py [--check]
"""
import argparse
import os
import sys
import unicodedata

import regex

FLAG_L, FLAG_N, FLAG_WS, FLAG_ALPHA = 1, 2, 4, 8
FLAG_NFC_NY, FLAG_NFKC_NY, FLAG_NFD_NY, FLAG_NFKD_NY = 16, 32, 64, 128
FLAG_NON_STARTER = 256  # canonical combining class != 0

WHITE_SPACE = ([c for c in range(0x09, 0x0E)] + [0x20, 0x85, 0xA0, 0x1680] +
               list(range(0x2000, 0x200B)) +
               [0x2028, 0x2029, 0x202F, 0x205F, 0x3000])

MAX_CP = 0x110000


def is_surrogate(cp):
    return 0xD800 <= cp <= 0xDFFF


def is_hangul_syllable(cp):
    return 0xAC00 <= cp <= 0xD7A3


def flags_of(cp, composable_seconds):
    if is_surrogate(cp):
        return 0
    ch = chr(cp)
    cat = unicodedata.category(ch)
    f = 0
    if cat.startswith('L'):
        f |= FLAG_L
    if cat.startswith('N'):
        f |= FLAG_N
    if cp in WHITE_SPACE_SET:
        f |= FLAG_WS
    if ALPHA_RE.match(ch):
        f |= FLAG_ALPHA
    # Quick-check "not Yes": the character changes under the form, or (for
    # the composing forms) it may combine with a preceding character.
    if unicodedata.normalize('NFC', ch) != ch or cp in composable_seconds:
        f |= FLAG_NFC_NY
    if unicodedata.normalize('NFKC', ch) != ch or cp in composable_seconds:
        f |= FLAG_NFKC_NY
    if unicodedata.normalize('NFD', ch) != ch:
        f |= FLAG_NFD_NY
    if unicodedata.normalize('NFKD', ch) != ch:
        f |= FLAG_NFKD_NY
    if unicodedata.combining(ch):
        f |= FLAG_NON_STARTER
    return f


def ranges(values):
    """Run-length encodes a per-code-point list into (start, value) pairs."""
    out = []
    prev = None
    for cp, v in enumerate(values):
        if v != prev:
            out.append((cp, v))
            prev = v
    return out


def composition_pairs():
    pairs = []
    for cp in range(MAX_CP):
        if is_surrogate(cp) or is_hangul_syllable(cp):
            continue
        d = unicodedata.decomposition(chr(cp))
        if not d or d.startswith('<'):
            continue
        parts = [int(x, 16) for x in d.split()]
        if len(parts) != 2:
            continue
        # Composition exclusions do not recompose.
        if unicodedata.normalize('NFC', chr(parts[0]) + chr(parts[1])) != chr(cp):
            continue
        pairs.append((parts[0], parts[1], cp))
    return pairs


def decompositions():
    entries = []
    data = []
    for cp in range(MAX_CP):
        if is_surrogate(cp) or is_hangul_syllable(cp):
            continue
        ch = chr(cp)
        canon = unicodedata.normalize('NFD', ch)
        compat = unicodedata.normalize('NFKD', ch)
        if canon == ch and compat == ch:
            continue
        canon_cps = [ord(x) for x in canon] if canon != ch else []
        compat_cps = [ord(x) for x in compat]
        canon_off = len(data)
        data.extend(canon_cps)
        if compat_cps == canon_cps:
            compat_off = canon_off
        else:
            compat_off = len(data)
            data.extend(compat_cps)
        entries.append((cp, canon_off, len(canon_cps), compat_off,
                        len(compat_cps)))
    return entries, data


def check_against_tokenizers():
    from tokenizers import Regex, pre_tokenizers
    cps = [c for c in range(MAX_CP) if not is_surrogate(c)]
    text = ''.join(chr(c) for c in cps)
    ok = True
    for name, pattern, flag in (('L', r'\p{L}', FLAG_L), ('N', r'\p{N}', FLAG_N),
                                ('\\s', r'\s', FLAG_WS)):
        split = pre_tokenizers.Split(Regex(pattern), behavior='removed')
        kept = set()
        for piece, _ in split.pre_tokenize_str(text):
            kept.update(ord(c) for c in piece)
        theirs = set(cps) - kept
        ours = {c for c in cps if FLAGS[c] & flag}
        diff = sorted(theirs ^ ours)
        print(f'{name}: tokenizers={len(theirs)} ours={len(ours)} '
              f'differences={len(diff)} {[hex(c) for c in diff[:10]]}')
        ok = ok and not diff
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--check', action='store_true',
                    help='compare the classes against tokenizers\' regexes')
    ap.add_argument('--out', default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), '..', 'lib',
        'UnicodeTables.inc'))
    args = ap.parse_args()

    global WHITE_SPACE_SET, ALPHA_RE, FLAGS
    WHITE_SPACE_SET = set(WHITE_SPACE)
    ALPHA_RE = regex.compile(r'\p{Alphabetic}')
    pairs = composition_pairs()
    # Hangul vowels and trailing consonants compose algorithmically.
    seconds = ({b for _, b, _ in pairs} | set(range(0x1161, 0x1176)) |
               set(range(0x11A8, 0x11C3)))
    FLAGS = [flags_of(cp, seconds) for cp in range(MAX_CP)]
    if args.check and not check_against_tokenizers():
        sys.exit('class tables differ from tokenizers\' regex engine')

    prop = ranges(FLAGS)
    ccc = ranges([0 if is_surrogate(c) else unicodedata.combining(chr(c))
                  for c in range(MAX_CP)])
    entries, data = decompositions()

    lines = []
    w = lines.append
    w('//===- UnicodeTables.inc - Generated Unicode tables ------------*- C++ -*-===//')
    w('//')
    w('// Part of the ftl project.')
    w('//')
    w('//===----------------------------------------------------------------------===//')
    w('//')
    w('// GENERATED by runtime/tokenizers/utils/gen_unicode_tables.py from')
    w(f'// Unicode {unicodedata.unidata_version} (Python unicodedata); '
      f'Alphabetic from regex {regex.__version__}. Do not edit.')
    w('//')
    w('//===----------------------------------------------------------------------===//')
    w('')

    def emit_u32(name, values, per_line=8):
        w(f'static const uint32_t {name}[] = {{')
        for i in range(0, len(values), per_line):
            w('    ' + ', '.join(f'0x{v:x}' for v in values[i:i + per_line]) + ',')
        w('};')
        w('')

    w('// (start << 11) | flags; each run lasts until the next start.')
    emit_u32('kPropRuns', [(s << 11) | v for s, v in prop])
    w('// (start << 8) | canonical combining class.')
    emit_u32('kCccRuns', [(s << 8) | v for s, v in ccc])
    w('// Decompositions: code point, then offset/length of the full canonical')
    w('// decomposition (length 0: none) and of the full compatibility one in')
    w('// kDecompData.')
    w('static const DecompEntry kDecompEntries[] = {')
    items = [f'{{0x{cp:x},{co},{cl},{ko},{kl}}}' for cp, co, cl, ko, kl in entries]
    for i in range(0, len(items), 5):
        w('    ' + ', '.join(items[i:i + 5]) + ',')
    w('};')
    w('')
    emit_u32('kDecompData', data)
    w('// Canonical composition pairs: first, second, composite.')
    w('static const ComposePair kComposePairs[] = {')
    items = [f'{{0x{a:x},0x{b:x},0x{c:x}}}' for a, b, c in pairs]
    for i in range(0, len(items), 4):
        w('    ' + ', '.join(items[i:i + 4]) + ',')
    w('};')
    with open(args.out, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print(f'wrote {args.out}: {len(prop)} property runs, {len(ccc)} ccc runs, '
          f'{len(entries)} decompositions ({len(data)} code points), '
          f'{len(pairs)} composition pairs')


if __name__ == '__main__':
    main()
