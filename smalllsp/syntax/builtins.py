"""Names every program of a language may use without another workspace file.

The cross-file guard counts a call to one of these as local: builtins and
globals, standard-library modules or packages used as receivers, and the
methods of the standard containers and strings (``items.append(x)`` is not a
call into the workspace's ``append``, whatever the workspace defines).
Python's lists come from the running interpreter; the others are data.
"""

from __future__ import annotations

import builtins as _python_builtins
import sys

# Python: builtins, standard modules, and methods of the built-in types.
_PY_TYPES = (list, dict, str, bytes, set, frozenset, tuple, int, float, complex, object, bytearray, memoryview, range)
_PY_METHODS = {name for kind in _PY_TYPES for name in dir(kind)} | {
    # files, regular expressions, logging and futures: everywhere in Python code
    "read", "readline", "readlines", "write", "writelines", "close", "flush", "seek", "tell",
    "group", "groups", "groupdict", "match", "search", "fullmatch", "sub", "findall", "finditer",
    "debug", "info", "warning", "error", "exception", "critical", "log",
    "result", "done", "cancel", "set_result", "set_exception", "add_done_callback",
}
_PY_MODULES = set(getattr(sys, "stdlib_module_names", ())) | set(sys.builtin_module_names)

_JS_GLOBALS = {
    "console", "Math", "JSON", "Object", "Array", "String", "Number", "Boolean", "Promise", "Date", "RegExp",
    "Map", "Set", "WeakMap", "WeakSet", "Symbol", "Error", "TypeError", "RangeError", "SyntaxError", "BigInt",
    "Reflect", "Proxy", "Intl", "URL", "URLSearchParams", "TextEncoder", "TextDecoder", "AbortController",
    "parseInt", "parseFloat", "isNaN", "isFinite", "setTimeout", "clearTimeout", "setInterval", "clearInterval",
    "queueMicrotask", "structuredClone", "encodeURIComponent", "decodeURIComponent", "encodeURI", "decodeURI",
    "fetch", "require", "module", "exports", "process", "Buffer", "document", "window", "globalThis",
    "navigator", "localStorage", "sessionStorage", "alert", "Event", "CustomEvent", "Response", "Request",
    "Headers", "FormData", "Blob", "File", "crypto", "performance", "undefined", "NaN", "Infinity",
}
_JS_METHODS = {
    "push", "pop", "shift", "unshift", "slice", "splice", "map", "filter", "reduce", "reduceRight", "forEach",
    "find", "findIndex", "findLast", "some", "every", "includes", "indexOf", "lastIndexOf", "join", "concat",
    "sort", "reverse", "keys", "values", "entries", "has", "get", "set", "delete", "add", "clear", "then",
    "catch", "finally", "toString", "toFixed", "trim", "trimStart", "trimEnd", "split", "replace", "replaceAll",
    "startsWith", "endsWith", "toLowerCase", "toUpperCase", "padStart", "padEnd", "match", "matchAll", "test",
    "exec", "flat", "flatMap", "at", "log", "error", "warn", "info", "debug", "assign", "freeze", "stringify",
    "parse", "from", "isArray", "resolve", "reject", "all", "allSettled", "race", "any", "apply", "call", "bind",
    "charAt", "charCodeAt", "substring", "substr", "localeCompare", "toISOString", "getTime", "now", "floor",
    "ceil", "round", "max", "min", "abs", "random", "sqrt", "pow", "addEventListener", "removeEventListener",
    "querySelector", "querySelectorAll", "getElementById", "appendChild", "createElement", "preventDefault",
    "json", "text", "hasOwnProperty", "fill", "repeat", "sign", "trunc",
}

_GO_BUILTINS = {
    "append", "cap", "clear", "close", "complex", "copy", "delete", "imag", "len", "make", "max", "min", "new",
    "panic", "print", "println", "real", "recover", "string", "int", "int64", "int32", "uint", "uint8", "byte",
    "rune", "float64", "float32", "bool", "error", "any", "nil", "true", "false", "iota",
}
_GO_PACKAGES = {
    "fmt", "strings", "strconv", "errors", "os", "io", "bufio", "bytes", "sort", "sync", "time", "context",
    "math", "net", "http", "url", "json", "xml", "csv", "log", "slog", "path", "filepath", "regexp", "reflect",
    "unicode", "utf8", "atomic", "rand", "sql", "testing", "exec", "signal", "runtime", "debug", "hex",
    "base64", "sha256", "md5", "tls", "template", "heap", "list", "slices", "maps", "cmp", "ioutil", "fs",
}
_GO_METHODS = {
    "Error", "String", "Lock", "Unlock", "RLock", "RUnlock", "Add", "Done", "Wait", "Close", "Read", "Write",
    "WriteString", "Len", "Bytes", "Reset", "Err", "Value", "Deadline", "Unwrap", "Scan", "Text", "Next",
    "Load", "Store", "Do", "Seconds", "Milliseconds", "Sub", "Since", "Before", "After", "Format", "Unix",
}

_RUST_BUILTINS = {
    "Some", "None", "Ok", "Err", "Box", "Vec", "String", "Option", "Result", "HashMap", "HashSet", "BTreeMap",
    "BTreeSet", "VecDeque", "Rc", "Arc", "RefCell", "Cell", "Mutex", "RwLock", "drop", "std", "core", "alloc",
    "Self", "self", "crate", "super", "Default", "From", "Into", "Iterator", "Debug", "Clone", "Copy",
}
_RUST_METHODS = {
    "unwrap", "expect", "clone", "to_string", "to_owned", "into", "iter", "iter_mut", "into_iter", "map",
    "collect", "push", "push_str", "pop", "len", "is_empty", "get", "get_mut", "insert", "remove", "contains",
    "contains_key", "as_str", "as_ref", "as_mut", "unwrap_or", "unwrap_or_else", "unwrap_or_default", "ok_or",
    "ok_or_else", "and_then", "or_else", "filter", "filter_map", "enumerate", "zip", "sum", "count", "fold",
    "any", "all", "find", "position", "rev", "take", "skip", "chain", "cloned", "copied", "first", "last",
    "sort", "sort_by", "sort_by_key", "dedup", "extend", "join", "split", "trim", "lines", "chars", "bytes",
    "parse", "lock", "read", "write", "borrow", "borrow_mut", "entry", "or_insert", "or_default", "keys",
    "values", "is_some", "is_none", "is_ok", "is_err", "ok", "err", "new", "default", "from", "with_capacity",
    "fmt", "eq", "cmp", "partial_cmp", "hash", "max", "min", "abs", "format",
}

_JAVA_BUILTINS = {
    "System", "String", "Math", "Integer", "Long", "Double", "Float", "Boolean", "Character", "Byte", "Short",
    "Object", "List", "Map", "Set", "ArrayList", "LinkedList", "HashMap", "LinkedHashMap", "TreeMap", "HashSet",
    "TreeSet", "Arrays", "Collections", "Objects", "Optional", "Stream", "Collectors", "StringBuilder", "Thread",
    "Exception", "RuntimeException", "IllegalArgumentException", "IllegalStateException", "IOException",
    "NullPointerException", "UnsupportedOperationException", "Iterator", "Iterable", "Comparator", "UUID",
    "Instant", "Duration", "LocalDate", "LocalDateTime", "BigDecimal", "BigInteger", "Files", "Paths", "Path",
}
_JAVA_METHODS = {
    "println", "print", "printf", "format", "equals", "hashCode", "toString", "get", "put", "add", "addAll",
    "remove", "size", "isEmpty", "contains", "containsKey", "stream", "map", "filter", "collect", "forEach",
    "append", "length", "charAt", "substring", "valueOf", "parseInt", "parseLong", "parseDouble", "of",
    "asList", "orElse", "orElseThrow", "isPresent", "ifPresent", "toList", "toArray", "sort", "compareTo",
    "getOrDefault", "putIfAbsent", "keySet", "values", "entrySet", "getKey", "getValue", "iterator", "hasNext",
    "next", "trim", "split", "startsWith", "endsWith", "toLowerCase", "toUpperCase", "indexOf", "replace",
    "join", "max", "min", "abs", "requireNonNull", "getMessage", "getClass", "clear", "set", "reduce", "sum",
    "count", "anyMatch", "allMatch", "findFirst", "now", "close", "read", "write", "matches",
}

_C_BUILTINS = {
    "printf", "fprintf", "sprintf", "snprintf", "vprintf", "vfprintf", "malloc", "calloc", "realloc", "free",
    "memcpy", "memset", "memmove", "memcmp", "strlen", "strcmp", "strncmp", "strcpy", "strncpy", "strcat",
    "strncat", "strchr", "strrchr", "strstr", "strdup", "strtok", "fopen", "fclose", "fread", "fwrite", "fgets",
    "fputs", "fputc", "fgetc", "fflush", "fseek", "ftell", "puts", "putchar", "getchar", "scanf", "sscanf",
    "exit", "abort", "assert", "atoi", "atol", "atof", "strtol", "strtoul", "strtod", "qsort", "bsearch", "abs",
    "labs", "rand", "srand", "time", "clock", "perror", "errno", "sizeof", "NULL", "size_t", "FILE", "stdin",
    "stdout", "stderr", "isalpha", "isdigit", "isspace", "isalnum", "toupper", "tolower", "sqrt", "pow", "floor",
    "ceil", "fabs", "sin", "cos", "exp", "log", "getenv", "open", "close", "read", "write", "pthread_create",
    "pthread_join", "pthread_mutex_lock", "pthread_mutex_unlock",
}
_CPP_BUILTINS = _C_BUILTINS | {
    "std", "cout", "cerr", "cin", "endl", "make_unique", "make_shared", "move", "forward", "swap", "min", "max",
    "sort", "find", "find_if", "count", "count_if", "accumulate", "transform", "for_each", "to_string", "stoi",
    "stol", "stod", "getline", "vector", "string", "map", "unordered_map", "set", "unordered_set", "pair",
    "tuple", "optional", "variant", "unique_ptr", "shared_ptr", "make_pair", "make_tuple", "static_cast",
    "dynamic_cast", "reinterpret_cast", "const_cast", "begin", "end", "size",
}
_CPP_METHODS = {
    "push_back", "emplace_back", "pop_back", "size", "begin", "end", "cbegin", "cend", "rbegin", "rend",
    "insert", "emplace", "erase", "find", "at", "front", "back", "clear", "empty", "reserve", "resize",
    "c_str", "data", "substr", "append", "count", "get", "reset", "release", "lock", "unlock", "first",
    "second", "length", "str", "what", "value", "has_value", "value_or", "swap", "contains",
}

# Language (as in the use tables) -> (names and globals, receivers that are
# standard modules or namespaces, methods of the standard types).
BUILTINS: dict[str, tuple[frozenset[str], frozenset[str], frozenset[str]]] = {
    "python": (frozenset(dir(_python_builtins)), frozenset(_PY_MODULES), frozenset(_PY_METHODS)),
    "javascript": (frozenset(_JS_GLOBALS), frozenset(_JS_GLOBALS), frozenset(_JS_METHODS)),
    "go": (frozenset(_GO_BUILTINS), frozenset(_GO_PACKAGES), frozenset(_GO_METHODS)),
    "rust": (frozenset(_RUST_BUILTINS), frozenset(_RUST_BUILTINS), frozenset(_RUST_METHODS)),
    "java": (frozenset(_JAVA_BUILTINS), frozenset(_JAVA_BUILTINS), frozenset(_JAVA_METHODS)),
    "c": (frozenset(_C_BUILTINS), frozenset(), frozenset()),
    "cpp": (frozenset(_CPP_BUILTINS), frozenset({"std"}), frozenset(_CPP_METHODS)),
}
_EMPTY = (frozenset(), frozenset(), frozenset())


def is_builtin(language: str, name: str) -> bool:
    return name in BUILTINS.get(language, _EMPTY)[0]


def is_standard_receiver(language: str, receiver: str) -> bool:
    """``os.path`` or ``std::chrono``: the receiver's first part is a standard module."""
    root = receiver.replace("::", ".").replace("->", ".").split(".", 1)[0].strip()
    return root in BUILTINS.get(language, _EMPTY)[1]


def is_standard_method(language: str, name: str) -> bool:
    return name in BUILTINS.get(language, _EMPTY)[2]
