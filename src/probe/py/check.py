# memreg probe, check mode: compile every part of every scenario before anything
# runs, report SyntaxErrors with their YAML lines, and save the compiled code (each
# scenario's, and the probe's own parts) with marshal for the measuring processes.
# Runs with -S (no site-packages).

def check(config):
    """Compile every part of every scenario; report SyntaxErrors with their lines.
    A scenario whose parts all compile gets its code objects saved to its
    `compiled` file (see scenario_code)."""
    errors = []
    for scenario in config["scenarios"]:
        compiled = {}
        for part in scenario["parts"]:
            try:
                compiled[part["part"]] = compile_part(part)
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
        complete = len(compiled) == len(scenario["parts"])
        run = compiled.get("run")
        if complete and run is not None and not run.co_flags & CO_COROUTINE:
            loop = loop_form(next(p for p in scenario["parts"] if p["part"] == "run"))
            if loop is not None:
                compiled["run_loop"] = loop
        if complete and scenario.get("compiled"):
            save(scenario["compiled"], {"stamp": code_stamp(), "parts": compiled})
    if config.get("probe", True):
        save_compiled_probe()
    return {"format": FORMAT, "status": "ok", "errors": errors, "python": python_info()}


def loop_form(part):
    """The body as the statement `for __memreg_chunk__ in __memreg_chunk__:` around
    it, built from its syntax tree so every line and column stays where the YAML has
    it (tracebacks point at the same text); None where no loop can hold it (a
    `__future__` import, an empty body). Top-level `break` and `continue` were
    refused by the plain compile above, so the loop changes nothing a body can do."""
    import ast

    padding = "\n" * (part["first_line"] - 1)
    try:
        tree = compile(padding + part["code"], part["filename"], "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
        if not tree.body:
            return None
        first, last = tree.body[0], tree.body[-1]
        loop = ast.For(
            target=ast.Name(id=LOOP_NAME, ctx=ast.Store()),
            iter=ast.Name(id=LOOP_NAME, ctx=ast.Load()),
            body=tree.body,
            orelse=[],
            type_comment=None,
        )
        for node in (loop, loop.target, loop.iter):
            node.lineno, node.col_offset = first.lineno, first.col_offset
            node.end_lineno, node.end_col_offset = last.end_lineno, last.end_col_offset
        return compile(ast.Module(body=[loop], type_ignores=[]), part["filename"], "exec", dont_inherit=True)
    except (SyntaxError, ValueError, TypeError):
        return None


def save(path, value):
    """Write `value` with marshal, atomically (a reader never sees half a file)."""
    tmp = path + ".%d.tmp" % os.getpid()
    with open(tmp, "wb") as f:
        marshal.dump(value, f)
    os.replace(tmp, path)


def save_compiled_probe():
    """Saves every probe part's code object for the later processes (see part_code),
    without docstrings (optimize=2: a smaller file to load; the probe asserts
    nothing)."""
    workdir = sys.argv[1]
    tag = sys.implementation.cache_tag
    if tag is None:
        return
    for name in PARTS:
        with open(os.path.join(workdir, "probe", name + ".py"), encoding="utf-8") as f:
            code = compile(f.read(), "<string>", "exec", optimize=2)
        save(os.path.join(workdir, "probe-%s-%s.bin" % (name, tag)), code)
