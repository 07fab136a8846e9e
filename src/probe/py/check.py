# memreg probe, check mode: compile every part of every scenario before anything
# runs, report SyntaxErrors with their YAML lines, and save the probe's own parts as
# code objects for the measuring processes. Runs with -S (no site-packages).

def check(config):
    """Compile every part of every scenario; report SyntaxErrors with their lines."""
    errors = []
    for part in config["parts"]:
        try:
            compile_part(part)
        except SyntaxError as e:
            errors.append(
                {
                    "scenario": part["scenario"],
                    "part": part["part"],
                    "filename": shown(e.filename or part["filename"]),
                    "line": e.lineno or 0,
                    "column": e.offset or 0,
                    "message": e.msg,
                    "text": (e.text or "").rstrip("\n"),
                }
            )
        except (ValueError, TypeError) as e:  # e.g. NUL bytes in source
            errors.append(
                {
                    "scenario": part["scenario"],
                    "part": part["part"],
                    "filename": shown(part["filename"]),
                    "line": part["first_line"],
                    "column": 0,
                    "message": str(e),
                    "text": "",
                }
            )
    save_compiled_probe()
    return {"format": FORMAT, "status": "ok", "errors": errors, "python": python_info()}


def save_compiled_probe():
    """Saves every probe part's code object for the later processes (see part_code)."""
    workdir = sys.argv[1]
    tag = sys.implementation.cache_tag
    if tag is None:
        return
    for name in PARTS:
        code = globals().get("__memreg_code__") if name == "core" else None
        if code is None:
            with open(os.path.join(workdir, "probe", name + ".py"), encoding="utf-8") as f:
                code = compile(f.read(), "<string>", "exec")
        path = os.path.join(workdir, "probe-%s-%s.bin" % (name, tag))
        tmp = path + ".%d.tmp" % os.getpid()
        with open(tmp, "wb") as f:
            marshal.dump(code, f)
        os.replace(tmp, path)
