# json's scanner for every GraalPy context, in Python, from one Source the engine shares.
# GraalPy's own (_json.make_scanner, Java) makes each list, dict and string through uncached nodes,
# about 1 us a value however warm the JIT is: json_transform.py's 0.9 MB document in 159-179 ms,
# where CPython 3.11 takes 11-16 ms. This one, compiled by Truffle, parses it in 18-20 ms (DESIGN.md,
# "Python isolates"). Its code is shared by every context of the engine, so the base template's
# warm-up compiles it for every worker restored from it. It imports nothing (json itself costs a
# context 66-70 ms), and json.scanner takes it from _json when a function imports json. Anything
# it does not take as it is (hooks, a malformed or very deep document, a non-str) goes to GraalPy's
# scanner from the same index, which parses it, or fails with its own error, as it always did.


def __gv_json_scanner(java_make_scanner, scanstring):
    blank = " \t\n\r"
    # Builtins as closure variables: a global or builtin read looks in the context's __main__
    # first, where each function's own globals live too, so code shared by every function met a
    # new dict shape with each one and its compiled code was thrown away.
    new_list, length, type_of, text, out_of_range = list, len, type, str, IndexError
    deepest = 500  # past it the Java scanner parses (and raises RecursionError where json would)

    class Unsure(Exception):
        pass

    def make_scanner(context):
        java = java_make_scanner(context)
        if context.object_hook is not None or context.object_pairs_hook is not None:
            return java
        strict = context.strict
        parse_float = context.parse_float
        parse_int = context.parse_int
        parse_constant = context.parse_constant

        def string(s, i):  # i: just past the opening quote
            j = s.find('"', i)
            if j < 0:
                raise Unsure
            chunk = s[i:j]
            if "\\" in chunk or not chunk.isprintable():
                return scanstring(s, i, strict)  # escapes, control characters and their errors
            return chunk, j + 1

        def key(s, i, n):  # i: at the key's opening quote; returns the key and where its value starts
            if s[i] != '"':
                raise Unsure
            k, i = string(s, i + 1)
            while s[i] in blank:
                i += 1
            if s[i] != ":":
                raise Unsure
            i += 1
            while i < n and s[i] in blank:
                i += 1
            return k, i

        def number(s, i, n):
            # the longest prefix matching -?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?, as json's own
            j = i
            if s[j] == "-":
                j += 1
            if j < n and s[j] == "0":
                j += 1
            elif j < n and "1" <= s[j] <= "9":
                j += 1
                while j < n and "0" <= s[j] <= "9":
                    j += 1
            else:
                raise Unsure
            real = False
            if j + 1 < n and s[j] == "." and "0" <= s[j + 1] <= "9":
                j += 2
                while j < n and "0" <= s[j] <= "9":
                    j += 1
                real = True
            if j < n and (s[j] == "e" or s[j] == "E"):
                k = j + 1
                if k < n and (s[k] == "-" or s[k] == "+"):
                    k += 1
                if k < n and "0" <= s[k] <= "9":
                    k += 1
                    while k < n and "0" <= s[k] <= "9":
                        k += 1
                    j = k
                    real = True
            return (parse_float(s[i:j]) if real else parse_int(s[i:j])), j

        def parse(s, i, n):
            # One loop and a stack of open containers instead of recursion: one function for
            # Truffle to compile, and nesting bounded by `deepest`, not by the recursion limit.
            open_ = []  # lists and dicts being filled, outermost first
            keys = []  # for each, the key its next value goes under (None: a list)
            while True:
                c = s[i]
                if c == '"':
                    v, i = string(s, i + 1)
                elif c == "{" or c == "[":
                    i += 1
                    while s[i] in blank:
                        i += 1
                    if c == "{":
                        if s[i] == "}":
                            v, i = {}, i + 1
                        else:
                            k, i = key(s, i, n)
                            open_.append({})
                            keys.append(k)
                            if length(open_) > deepest:
                                raise Unsure
                            continue
                    elif s[i] == "]":
                        v, i = new_list(), i + 1
                    else:
                        # list(), not []: GraalPy sizes a new list by the lists made at the same
                        # place before, and a 19,138-item array made every 2-item one that big
                        open_.append(new_list())
                        keys.append(None)
                        if length(open_) > deepest:
                            raise Unsure
                        continue
                elif "0" <= c <= "9":
                    v, i = number(s, i, n)
                elif c == "-":
                    if s.startswith("-Infinity", i):
                        v, i = parse_constant("-Infinity"), i + 9
                    else:
                        v, i = number(s, i, n)
                elif c == "n" and s.startswith("null", i):
                    v, i = None, i + 4
                elif c == "t" and s.startswith("true", i):
                    v, i = True, i + 4
                elif c == "f" and s.startswith("false", i):
                    v, i = False, i + 5
                elif c == "N" and s.startswith("NaN", i):
                    v, i = parse_constant("NaN"), i + 3
                elif c == "I" and s.startswith("Infinity", i):
                    v, i = parse_constant("Infinity"), i + 8
                else:
                    raise Unsure
                # v is whole: put it in the innermost open container, closing those it completes
                while open_:
                    while i < n and s[i] in blank:
                        i += 1
                    c = s[i]
                    i += 1
                    k = keys[-1]
                    if k is None:
                        open_[-1].append(v)
                        if c == ",":
                            while s[i] in blank:
                                i += 1
                            break
                        if c != "]":
                            raise Unsure
                    else:
                        open_[-1][k] = v
                        if c == ",":
                            while s[i] in blank:
                                i += 1
                            keys[-1], i = key(s, i, n)
                            break
                        if c != "}":
                            raise Unsure
                    v = open_.pop()
                    keys.pop()
                else:
                    return v, i

        def scan_once(s, idx):
            if type_of(s) is not text:
                return java(s, idx)
            try:
                return parse(s, idx, length(s))
            except (Unsure, out_of_range):
                return java(s, idx)

        return scan_once

    return make_scanner


def __gv_install_json_scanner():
    import _json

    java = getattr(_json, "__gv_java_make_scanner", None) or _json.make_scanner
    _json.__gv_java_make_scanner = java
    _json.make_scanner = __gv_json_scanner(java, _json.scanstring)


__gv_install_json_scanner()
