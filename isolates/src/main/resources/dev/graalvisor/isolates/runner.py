# The runner's own code imports only modules built into GraalPy (_json, posix, sys): a new context
# runs the code of every module imported into it afresh, and json (with re and enum), os, random
# and traceback made a context 565 ms and 13.2 MB instead of 151 ms and 3.2 MB (DESIGN.md, "Python
# isolates"). A function that imports them pays for them; one that does not, does not.


def __gv_json():
    import _json

    class Parsing:  # what json.JSONDecoder gives its scanner
        strict = True
        object_hook = None
        object_pairs_hook = None
        parse_float = float
        parse_int = int
        parse_constant = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}.__getitem__

    scan = _json.make_scanner(Parsing())
    blank = " \t\n\r"

    def loads(text):
        start = 0
        while start < len(text) and text[start] in blank:
            start += 1
        try:
            value, end = scan(text, start)
        except StopIteration:
            raise ValueError("not a JSON document") from None
        while end < len(text) and text[end] in blank:
            end += 1
        if end != len(text):
            raise ValueError("extra data after the JSON document")
        return value

    def default(o):
        raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")

    def dumps(value):
        # json.dumps's defaults, its markers made afresh for each document as json.dumps does
        if isinstance(value, str):
            return _json.encode_basestring_ascii(value)
        return "".join(_json.make_encoder({}, default, _json.encode_basestring_ascii, None,
                                          ": ", ", ", False, False, True)(value, 0))

    return loads, dumps


def __gv_environ():
    # os.environ keeps its variables in posix.environ (bytes to bytes, the same dict object):
    # written there, they are seen through os.environ whether the function imported os before
    # this call or imports it later. Past putenv: the sandbox has no processes to inherit them.
    import posix
    import sys

    encoding = sys.getfilesystemencoding()
    data = posix.environ

    def encode(value):
        return value.encode(encoding, "surrogateescape")

    def decode(value):
        return value.decode(encoding, "surrogateescape")

    return data, encode, decode


# Wraps an OpenWhisk-style main(args) and hands back [status, payload, type, line]
# so guest errors cross into Java as data. env_json: variables in os.environ for this call only.
def __gv_runner(main, source_name):
    loads, dumps = __gv_json()
    data, encode, decode = __gv_environ()
    # Keys the last call set and this one does not are put back first, so a call never sees
    # another's values; keys set again are just overwritten.
    overridden = {}  # key -> what it replaced (None: it was not set)

    def put(key, value):
        if value is None:
            data.pop(encode(key), None)
        else:
            data[encode(key)] = encode(value)

    def get(key):
        value = data.get(encode(key))
        return None if value is None else decode(value)

    def begin(env_json):
        add = {} if env_json is None else loads(env_json)
        for key in [k for k in overridden if k not in add]:
            put(key, overridden.pop(key))
        for key, value in add.items():
            if key not in overridden:
                overridden[key] = get(key)
            put(key, str(value))

    def run(params_json, env_json=None):
        if env_json is not None or overridden:
            begin(env_json)
        try:
            r = main(loads(params_json))
            return ["ok", dumps({} if r is None else r), "", 0]
        except SystemExit as e:
            return ["exit", str(e.code), "SystemExit", 0]
        except BaseException as e:
            # the innermost frame of the function's own file (traceback.extract_tb, without
            # importing traceback into every context)
            line, tb = 0, e.__traceback__
            while tb is not None:
                if tb.tb_frame.f_code.co_filename == source_name:
                    line = tb.tb_lineno
                tb = tb.tb_next
            return ["error", str(e), type(e).__name__, line]

    return run


def __gv_setenv(env_json):
    loads, _ = __gv_json()
    data, encode, _ = __gv_environ()
    for key, value in loads(env_json).items():
        data[encode(key)] = encode(str(value))


def __gv_load_zip(files_json):
    # Imports and __main__.py come from the uploaded zip: the guest has no file system.
    import importlib.abc
    import importlib.util
    import sys

    files = __gv_json()[0](files_json)

    class ZipFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, name, path, target=None):
            base = name.replace(".", "/")
            if base + "/__init__.py" in files:
                return importlib.util.spec_from_loader(name, self, origin=base + "/__init__.py", is_package=True)
            if base + ".py" in files:
                return importlib.util.spec_from_loader(name, self, origin=base + ".py")
            return None

        def create_module(self, spec):
            return None

        def exec_module(self, module):
            origin = module.__spec__.origin
            exec(compile(files[origin], origin, "exec"), module.__dict__)

    sys.meta_path.insert(0, ZipFinder())
    namespace = {"__name__": "__gv_action__", "__file__": "__main__.py"}
    exec(compile(files["__main__.py"], "__main__.py", "exec"), namespace)
    return namespace


def __gv_reseed(high, low):
    # A restored clone shares the dumped random state: seed it from the clone's own entropy.
    # Not imported yet, random seeds itself from os.urandom when it is, in the clone.
    import sys

    random = sys.modules.get("random")
    if random is not None:
        random.seed(((high & 0xFFFFFFFFFFFFFFFF) << 64) | (low & 0xFFFFFFFFFFFFFFFF))
