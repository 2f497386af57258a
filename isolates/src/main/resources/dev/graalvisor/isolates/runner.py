# Wraps an OpenWhisk-style main(args) and hands back [status, payload, type, line]
# so guest errors cross into Java as data. env_json: variables in os.environ for this call only.
def __gv_runner(main, source_name):
    import json
    import os
    import traceback

    def run(params_json, env_json=None):
        saved = None
        if env_json is not None:
            saved = []
            for k, v in json.loads(env_json).items():
                saved.append((k, os.environ.get(k)))
                os.environ[k] = str(v)
        try:
            r = main(json.loads(params_json))
            return ["ok", json.dumps({} if r is None else r), "", 0]
        except SystemExit as e:
            return ["exit", str(e.code), "SystemExit", 0]
        except BaseException as e:
            frames = traceback.extract_tb(e.__traceback__)
            line = next((f.lineno for f in reversed(frames) if f.filename == source_name), 0)
            return ["error", str(e), type(e).__name__, line or 0]
        finally:
            for k, old in reversed(saved or ()):
                if old is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = old

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
