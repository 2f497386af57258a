# Wraps an OpenWhisk-style main(args) and hands back [status, payload, type, line]
# so guest errors cross into Java as data. env_json: variables in os.environ for this call only.
def __gv_runner(main, source_name):
    import json
    import os
    import traceback

    environ = os.environ
    # Written past putenv: the sandbox has no processes to inherit it, and putenv/unsetenv cost
    # tens of µs a call in GraalPy. Keys the last call set and this one does not are put back
    # first, so a call never sees another's values; keys set again are just overwritten.
    data = getattr(environ, "_data", None)
    encode_key = getattr(environ, "encodekey", None)
    encode_value = getattr(environ, "encodevalue", None)
    overridden = {}  # key -> what it replaced (None: it was not set)

    def put(key, value):
        if data is None:
            if value is None:
                environ.pop(key, None)
            else:
                environ[key] = value
        elif value is None:
            data.pop(encode_key(key), None)
        else:
            data[encode_key(key)] = encode_value(value)

    def begin(env_json):
        add = {} if env_json is None else json.loads(env_json)
        for key in [k for k in overridden if k not in add]:
            put(key, overridden.pop(key))
        for key, value in add.items():
            if key not in overridden:
                overridden[key] = environ.get(key)
            put(key, str(value))

    def run(params_json, env_json=None):
        if env_json is not None or overridden:
            begin(env_json)
        try:
            r = main(json.loads(params_json))
            return ["ok", json.dumps({} if r is None else r), "", 0]
        except SystemExit as e:
            return ["exit", str(e.code), "SystemExit", 0]
        except BaseException as e:
            frames = traceback.extract_tb(e.__traceback__)
            line = next((f.lineno for f in reversed(frames) if f.filename == source_name), 0)
            return ["error", str(e), type(e).__name__, line or 0]

    return run


def __gv_setenv(env_json):
    import json
    import os
    os.environ.update(json.loads(env_json))


def __gv_load_zip(files_json):
    # Imports and __main__.py come from the uploaded zip: the guest has no file system.
    import importlib.abc
    import importlib.util
    import json
    import sys

    files = json.loads(files_json)

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
    import random
    random.seed(((high & 0xFFFFFFFFFFFFFFFF) << 64) | (low & 0xFFFFFFFFFFFFFFFF))
