"""What a forward costs in memory, from the trace graph: liveness of every tensor it makes.

A value of the graph is live from the node that produces it to its last use. Values that
share storage (views, in-place results, tensors packed into lists and tuples) are one
storage, freed after the last use of any of them. Graph inputs are live from the start (and,
held by the caller, to the end), graph outputs until the end; parameters, buffers and
constants are not activations. Eager mode's Python references are kept too: a module's
arguments live until it returns, and a value assigned to a local name lives until the name
is assigned again or its forward returns (the statements come from the Python stack the
trace records for each op). The peak is the largest total of live storage at any node: an
inference forward (no autograd), without the allocator's caching and rounding or kernels'
scratch space (docs/memory.md).

The walk records, per kernel that ran, the bytes it read and wrote (`Kernel`), which the
roofline's collector (`roofline.KernelCosts`) prices. `MemoryWalk` is one collector of the
analysis's single walk of the graph (`analysis.py`): it sees each node once, in order.
"""

from __future__ import annotations

import ast
import bisect
import functools
import linecache
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import torch

from .formulas import numel
from .registry import simple_op_name

Node = torch._C.Node
Value = torch._C.Value

# Ops whose schema says "may alias its input" but that copy when they cannot alias: `to`
# copies on a dtype change, the others when the input's layout does not allow a view.
CONVERTS = frozenset({"aten::to", "aten::type_as"})
RESHAPES = frozenset(
    {"aten::reshape", "aten::reshape_as", "aten::flatten", "aten::contiguous", "aten::unflatten"}
)
# Views that keep a dense (contiguous) tensor dense; any other view is taken as strided,
# except a transpose of a size-1 dim and a slice or split along the first dim. Layouts are
# followed by this rule, not read from the trace's strides, so a meta trace and a real one
# agree (kernels lay their outputs out differently on meta, e.g. attention's).
KEEPS_LAYOUT = frozenset(
    "aten::" + op
    for op in "view view_as unsqueeze squeeze alias detach unflatten flatten reshape "
    "reshape_as contiguous to type_as".split()
)
FIRST_DIM_VIEWS = {  # op -> position of its `dim` argument
    "aten::slice": 1,
    "aten::select": 1,
    "aten::narrow": 1,
    "aten::chunk": 2,
    "aten::split": 2,
    "aten::split_with_sizes": 2,
    "aten::unbind": 1,
}
# Gathers: they read the rows they select from their first argument, not all of it.
GATHERS = frozenset({"aten::embedding", "aten::index", "aten::index_select"})
WEIGHT_GATHERS = frozenset({"aten::index", "aten::index_select"})  # e.g. experts' weights
# Graph plumbing: their outputs are (parts of) their inputs.
PACKERS = frozenset({"prim::ListConstruct", "prim::TupleConstruct"})
UNPACKERS = frozenset({"prim::ListUnpack", "prim::TupleUnpack"})
SELECTORS = frozenset({"prim::TupleIndex", "prim::ListIndex", "aten::__getitem__"})


@dataclass
class _Call:
    """A module's forward in progress during the walk (the Python frame eager mode has)."""

    module: int
    start: int  # index of its first node
    first_storage: int  # storages made while it runs are numbered from here
    held: list[int] = field(default_factory=list)  # storages alive until it returns
    # Storages kept across a whole call that did not use them: a local variable.
    local: list[int] = field(default_factory=list)
    last_child_start: int = -2  # first node of the latest call it made that has returned


@dataclass(frozen=True)
class _Statement:
    """A Python statement of a forward: where it is and the local names it assigns."""

    file: str
    line: int
    column: int
    names: frozenset[str]


# A traced node's Python stack is one "path(line): function" a line, innermost first.
_MODULE_CALL = "torch/nn/modules/module.py"


def _assigned_names(statement: ast.stmt) -> frozenset[str]:
    """The local names an assignment binds (`x = ...`, `q, k, v = ...`); none for others
    (`x += y` keeps the same tensor; `self.x = ...` and `d[k] = ...` bind no local)."""
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        targets = [statement.target]
    else:
        return frozenset()
    names = set()
    pending: list[ast.expr] = list(targets)
    while pending:
        target = pending.pop()
        if isinstance(target, ast.Name):
            names.add(target.id)
        elif isinstance(target, ast.Tuple | ast.List):
            pending.extend(target.elts)
        elif isinstance(target, ast.Starred):
            pending.append(target.value)
    return frozenset(names)


@functools.cache
def _statements(file: str) -> dict[int, _Statement]:
    """Line -> the innermost statement spanning it, for a source file (empty if unreadable)."""
    try:
        tree = ast.parse("".join(linecache.getlines(file)))
    except (SyntaxError, ValueError):
        return {}
    by_line: dict[int, _Statement] = {}
    for node in ast.walk(tree):  # breadth first: a nested statement overrides its parent
        if isinstance(node, ast.stmt):
            found = _Statement(file, node.lineno, node.col_offset, _assigned_names(node))
            for line in range(node.lineno, (node.end_lineno or node.lineno) + 1):
                by_line[line] = found
    return by_line


@functools.lru_cache(maxsize=4096)
def _forward_lines(stack: str) -> tuple[tuple[str, int], ...]:
    """(file, line) of each module forward on a node's stack, the innermost call first.

    The stack is cut at nn.Module's call machinery (and `__call__` overrides around it);
    of a cut's frames, the one in `forward` is the module's (helpers and decorators
    around it are not), else the outermost.
    """
    frames: list[tuple[str, int]] = []
    current: list[tuple[str, str, str]] = []
    for entry in stack.splitlines():
        head, _, function = entry.strip().rpartition("): ")
        file, _, line = head.rpartition("(")
        if not file or not line.isdigit():
            continue
        if file.endswith(_MODULE_CALL) or function == "__call__":
            if current:
                forwards = [frame for frame in current if frame[2] == "forward"]
                chosen = (forwards or current)[-1]
                frames.append((chosen[0], int(chosen[1])))
                current = []
            continue
        current.append((file, line, function))
    return tuple(frames)


@dataclass(frozen=True)
class Kernel:
    """The bytes one kernel of the forward moved (a view, a shape query moves none)."""

    bytes_read: int  # tensor inputs, weights included
    bytes_written: int  # tensor outputs
    dtype: torch.dtype | None  # of the first output
    weight_bytes_read: int = 0  # of bytes_read: parameters and buffers
    kv_bytes_read: int = 0  # of bytes_read: the KV cache (a decode step's cache inputs)
    kv_bytes_written: int = 0  # of bytes_written: keys and values appended to the cache


@dataclass(frozen=True)
class OpCost:
    """One kernel of the forward: where it ran, its real flops and the bytes it moved."""

    position: int  # index of the module that ran it
    op: str
    flops: int  # the `flops` convention's count, whatever convention is displayed
    bytes_read: int  # tensor inputs, weights included
    bytes_written: int  # tensor outputs
    dtype: torch.dtype | None  # of the first output (decides the peak FLOP/s used)
    weight_bytes_read: int = 0  # of bytes_read: parameters and buffers
    kv_bytes_read: int = 0  # of bytes_read: the KV cache (a decode step's cache inputs)
    kv_bytes_written: int = 0  # of bytes_written: keys and values appended to the cache


@dataclass(frozen=True)
class MemoryProfile:
    """Bytes of activations, live-storage peaks and per-kernel costs of one forward."""

    peak_bytes: int  # most activation bytes live at once
    peak_node: str  # the op that runs when the peak is reached
    peak_node_index: int  # its position among the graph's nodes
    peak_position: int  # index of the module that runs it
    module_peaks: tuple[int, ...]  # per module: the peak while it runs (0 if it never ran)
    activation_bytes: tuple[dict[str, int], ...]  # per module: bytes its ops allocate, by op
    input_bytes: int  # graph inputs (live from the start)
    output_bytes: int  # graph outputs (live until the end)
    ops: tuple[OpCost, ...]


def _dtype(value: Value) -> torch.dtype | None:
    kind = value.type()
    return kind.dtype() if isinstance(kind, torch._C.TensorType) else None


def tensor_bytes(value: Value) -> int:
    """numel x element size of a tensor value with a complete type, else 0."""
    if not value.isCompleteTensor():
        return 0
    kind = value.type()
    dtype = kind.dtype()
    return numel(kind.sizes()) * (dtype.itemsize if dtype is not None else 0)


def _constant_dim(value: Value, rank: int) -> int | None:
    """A `dim` argument's value, made non-negative; None when it is not a constant."""
    if value.node().kind() != "prim::Constant":
        return None
    dim = value.toIValue()
    return dim % rank if isinstance(dim, int) and rank else None


def _sizes(value: Value) -> list[int]:
    return list(value.type().sizes()) if value.isCompleteTensor() else []


def _view_stays_dense(kind: str, inputs: Sequence[Value]) -> bool:
    """Whether a view of a dense tensor is dense (so reshaping it later copies nothing)."""
    if kind in KEEPS_LAYOUT:
        return True
    sizes = _sizes(inputs[0])
    if kind in FIRST_DIM_VIEWS:
        position = FIRST_DIM_VIEWS[kind]
        dim = _constant_dim(inputs[position], len(sizes)) if position < len(inputs) else 0
        return dim == 0
    if kind == "aten::transpose" and len(inputs) >= 3:
        dims = [_constant_dim(inputs[i], len(sizes)) for i in (1, 2)]
        return dims[0] == dims[1] or any(d is not None and sizes[d] == 1 for d in dims)
    return False


@functools.cache
def _aliased_arguments(schema: str) -> tuple[tuple[int, bool] | None, ...]:
    """Per return of an op schema: (argument it aliases, written in place?), or None."""
    try:
        parsed = torch._C.parse_schema(schema)
    except RuntimeError:
        return ()
    sources: list[tuple[int, bool] | None] = []
    for result in parsed.returns:
        info = result.alias_info
        source = None
        if info is not None:
            for index, argument in enumerate(parsed.arguments):
                if argument.alias_info is not None and (
                    argument.alias_info.before_set & info.before_set
                ):
                    source = (index, info.is_write)
                    break
                # `Tensor(a -> *) self` ... `-> Tensor(a)[]` (split, chunk, unbind): a list
                # of views, whose element alias the parsed return does not carry.
                if (
                    not info.before_set
                    and argument.alias_info is not None
                    and ("*" in argument.alias_info.after_set)
                ):
                    source = (index, False)
                    break
        sources.append(source)
    return tuple(sources)


def node_inputs(node: Node) -> list[Value]:
    """`list(node.inputs())`, several times faster (the iterator is slow in torch 2.x)."""
    return [node.inputsAt(i) for i in range(node.inputsSize())]


def node_outputs(node: Node) -> list[Value]:
    return [node.outputsAt(i) for i in range(node.outputsSize())]


def _schema(node: Node) -> str:
    try:
        return node.schema()
    except RuntimeError:
        return "(no schema)"


class MemoryWalk:
    """Follows storages through the graph while the analysis walks it, node by node.

    After `visit` of a node, `kernel` holds the bytes it moved (None if no kernel ran).
    """

    def __init__(
        self,
        graph: torch._C.Graph,
        state_inputs: int,
        parents: Sequence[int],
        called: Collection[int],
        cache_inputs: Collection[int] = (),
    ) -> None:
        """`cache_inputs`: positions of the user inputs that are a KV cache (not activations)."""
        module_count = len(parents)
        self._graph = graph
        self._parents = parents
        self._called = called  # containers (ModuleList...) are never called: no call frame
        # Module calls in progress, outermost first.
        self._calls: list[_Call] = []
        self._chains: dict[int, list[int]] = {}
        self.kernel: Kernel | None = None
        self._sizes: list[int] = []  # storage -> bytes
        self._activation: list[bool] = []  # storage -> counts towards activations
        self._state: set[int] = set()  # storages of parameters and buffers
        self._cache: set[int] = set()  # storages of the KV cache
        self._birth: list[int] = []
        self._death: list[int] = []
        self._storages: dict[Value, tuple[int, ...]] = {}
        self._elements: dict[Value, list[tuple[int, ...]]] = {}  # list/tuple -> its items
        self._bytes: dict[Value, int] = {}  # value -> bytes a kernel reading it reads
        self._dense: dict[Value, bool] = {}  # value -> laid out contiguously (default yes)
        self._positions: list[int] = []  # node index -> module index
        self._kinds: list[str] = []
        self._nodes: list[Node] = []
        self._depths: list[int] = []  # node index -> module calls open while it runs
        self._forwards: dict[int, tuple[tuple[str, int], ...]] = {}  # node index -> _forward_lines
        self._allocated: list[Counter[str]] = [Counter() for _ in range(module_count)]
        inputs = list(graph.inputs())
        user = len(inputs) - state_inputs
        self.input_bytes = 0
        for number, value in enumerate(inputs):
            size = tensor_bytes(value)
            is_cache = number in cache_inputs
            is_activation = number < user and not is_cache
            storage = self._new(size, -1, is_activation)
            if number >= user:
                self._state.add(storage)
            elif is_cache:
                self._cache.add(storage)
            self._storages[value] = (storage,)
            self._bytes[value] = size
            if is_activation:
                self.input_bytes += size

    def _new(self, size: int, birth: int, activation: bool = True) -> int:
        self._sizes.append(size)
        self._activation.append(activation)
        self._birth.append(birth)
        self._death.append(birth)
        return len(self._sizes) - 1

    def activation_storages(self, value: Value) -> list[tuple[int, int]]:
        """(storage id, bytes) of the activation storages a value holds (views share them);
        parameters, buffers and constants are not activations."""
        return [(s, self._sizes[s]) for s in self._storages_of(value) if self._activation[s]]

    def _storages_of(self, value: Value) -> tuple[int, ...]:
        return self._storages.get(value, ())

    def _enter(self, index: int, position: int) -> None:
        """Close the module calls this node is outside of; open those it is inside."""
        chain = self._chains.get(position)
        if chain is None:  # the called modules from the root down to this one
            chain = []
            module = position
            while module >= 0:
                if module in self._called:
                    chain.append(module)
                module = self._parents[module]
            chain.reverse()
            self._chains[position] = chain
        depth = 0
        while (
            depth < len(self._calls)
            and depth < len(chain)
            and self._calls[depth].module == chain[depth]
        ):
            depth += 1
        while len(self._calls) > depth:
            call = self._calls.pop()
            for storage in call.held:  # the references go when the call returns
                self._death[storage] = max(self._death[storage], index - 1)
            self._close_names(call, len(self._calls), index - 1)
            if self._calls:
                self._calls[-1].last_child_start = call.start
        for module in chain[depth:]:
            self._calls.append(_Call(module, index, first_storage=len(self._sizes)))

    def _close_names(self, call: _Call, depth: int, end: int) -> None:
        """Keep what the returning forward (`depth` calls deep, last node `end`) held in
        local names until the names were assigned again.

        Python drops a value when the name it was assigned to is assigned again
        (`x = x + f(x)`, a loop's next `q, k, v = ...`) or the forward returns. The
        statement of each node in this forward comes from the Python stack the trace
        recorded; a value used after the statement that made it is held by its names. One
        used by the statement that assigns the name again is dropped when that statement is
        done with it, which its uses (and the arguments' rule) already say. A value kept
        across a call (`call.local`) whose statement is unknown (no readable source, or it
        assigns no local name) is held until the forward returns.
        """
        storages = [
            storage
            for storage in range(call.first_storage, len(self._sizes))
            if self._activation[storage] and self._sizes[storage]
        ]
        if not storages:
            return
        first = call.start
        # Runs of nodes of one statement; nodes without one (constants, list packing)
        # belong to the run they follow.
        runs: list[tuple[_Statement | None, int]] = []  # (statement, first node)
        run_of: list[int] = []
        for index in range(first, end + 1):
            statement = self._statement(index, depth)
            if not runs or (statement is not None and statement != runs[-1][0]):
                runs.append((statement, index))
            run_of.append(len(runs) - 1)
        assigned: dict[str, list[int]] = {}  # name -> runs of statements assigning it
        for number, (statement, _) in enumerate(runs):
            for name in statement.names if statement is not None else ():
                assigned.setdefault(name, []).append(number)

        def last_node(run: int) -> int:
            return runs[run + 1][1] - 1 if run + 1 < len(runs) else end

        local = set(call.local)
        for storage in storages:
            run = run_of[self._birth[storage] - first]
            made = runs[run][0]
            if made is None or not made.names:
                if storage in local:
                    self._death[storage] = max(self._death[storage], end)
                continue
            death = self._death[storage]
            if death <= last_node(run):
                continue  # a temporary of its statement, or a name never used again
            again = [
                runs_of_name[position]
                for runs_of_name in (assigned[name] for name in made.names)
                if (position := bisect.bisect_right(runs_of_name, run)) < len(runs_of_name)
            ]
            if not again:
                self._death[storage] = end
            elif death < runs[min(again)][1]:
                self._death[storage] = last_node(min(again))

    def _use(self, storage: int, index: int) -> None:
        previous = self._death[storage]  # its latest use so far (its birth if none)
        self._death[storage] = max(previous, index)
        if not self._activation[storage]:
            return
        birth = self._birth[storage]
        maker = None
        for call in self._calls:
            if call.start > birth:  # an argument: the caller holds it until the call returns
                call.held.append(storage)
                break
            maker = call
        if maker is not None and maker.last_child_start > previous:
            # A whole call that did not use it ran between its previous use and this one, in
            # the forward that made it: a local variable there (see _close_names).
            maker.local.append(storage)

    def _statement(self, index: int, depth: int) -> _Statement | None:
        """The statement of the forward `depth` calls deep (0: the outermost) that node
        `index` runs in, from the Python stack the trace recorded; None if unknown."""
        if self._kinds[index] == "prim::Constant":  # hoisted: no statement of its own
            return None
        forwards = self._forwards.get(index)
        if forwards is None:
            forwards = _forward_lines(self._nodes[index].sourceRange())
            self._forwards[index] = forwards
        cut = self._depths[index] - 1 - depth
        if not 0 <= cut < len(forwards):
            return None
        file, line = forwards[cut]
        return _statements(file).get(line)

    def visit(self, index: int, node: Node, kind: str, position: int) -> None:
        """Record node number `index` of the graph (`kind` is node.kind()), run by `position`."""
        self.kernel = None
        self._positions.append(position)
        self._kinds.append(kind)
        self._nodes.append(node)
        if kind != "prim::Constant":  # constants are hoisted anywhere: no call boundary
            self._enter(index, position)
        self._depths.append(len(self._calls))
        inputs = node_inputs(node)
        for value in inputs:
            for storage in self._storages_of(value):
                self._use(storage, index)
        outputs = node_outputs(node)
        if kind == "prim::Constant":
            for value in outputs:  # a tensor captured by the trace: not made by the forward
                if isinstance(value.type(), torch._C.TensorType):
                    self._storages[value] = (self._new(tensor_bytes(value), index, False),)
            return
        if kind in PACKERS:
            items = [self._storages_of(value) for value in inputs]
            self._elements[outputs[0]] = items
            self._storages[outputs[0]] = tuple(s for item in items for s in item)
            self._bytes[outputs[0]] = sum(self._bytes.get(value, 0) for value in inputs)
            return
        if kind in UNPACKERS:
            items = self._elements.get(inputs[0])
            shared = self._storages_of(inputs[0])
            for number, value in enumerate(outputs):
                if items is not None and number < len(items):
                    self._storages[value] = items[number]
                elif shared:  # views returned by split, chunk, unbind: their base
                    self._storages[value] = shared
                    self._dense[value] = self._dense.get(inputs[0], True)
                else:  # items of a list a kernel returned: allocated by that kernel
                    self._storages[value] = (self._new(tensor_bytes(value), index),)
                    self._allocated[position][simple_op_name(kind)] += tensor_bytes(value)
                self._bytes[value] = tensor_bytes(value)
            return
        if kind in SELECTORS:
            for value in outputs:
                self._storages[value] = self._storages_of(inputs[0])
                self._bytes[value] = tensor_bytes(value)
            return
        self._kernel(index, node, kind, position, inputs, outputs)

    def _kernel(
        self,
        index: int,
        node: Node,
        kind: str,
        position: int,
        inputs: Sequence[Value],
        outputs: Sequence[Value],
    ) -> None:
        if kind == "aten::cat" and self._cache and self._append(index, inputs, outputs):
            return
        if kind in WEIGHT_GATHERS and self._cache and self._weight_rows(index, inputs, outputs):
            return
        aliases = _aliased_arguments(_schema(node)) if kind.startswith("aten::") else ()
        label = simple_op_name(kind)
        written = 0
        dtype = None
        for number, value in enumerate(outputs):
            alias = aliases[number] if number < len(aliases) else None
            if alias is not None and alias[0] < len(inputs):
                base = inputs[alias[0]]
                if self._shares_storage(kind, base, value):
                    self._storages[value] = self._storages_of(base)
                    self._bytes[value] = min(tensor_bytes(value), self._bytes.get(base, 0))
                    dense = self._dense.get(base, True)
                    if alias[1]:  # in-place: the kernel writes it
                        written += tensor_bytes(value)
                        dtype = dtype or _dtype(value)
                    else:
                        dense = dense and _view_stays_dense(kind, inputs)
                    self._dense[value] = dense
                    continue
            size = tensor_bytes(value)
            if not isinstance(value.type(), torch._C.TensorType):
                if isinstance(value.type(), torch._C.ListType):
                    self._storages[value] = ()  # its items are allocated when unpacked
                continue
            self._storages[value] = (self._new(size, index),)
            self._bytes[value] = size
            self._allocated[position][label] += size
            written += size
            dtype = dtype or _dtype(value)
        if written == 0:
            return  # a view, a shape query or a scalar op: no kernel moves tensor data
        read = weights = cache = 0
        for number, value in enumerate(inputs):
            if value.node().kind() == "prim::Constant":
                continue
            size = self._bytes.get(value, 0)
            if number == 0 and kind in GATHERS:  # the selected rows, at most all of them
                size = min(size, written)
            read += size
            storages = self._storages_of(value)
            if any(storage in self._cache for storage in storages):
                cache += size
            elif any(storage in self._state for storage in storages):
                weights += size
        self.kernel = Kernel(read, written, dtype, weight_bytes_read=weights, kv_bytes_read=cache)

    def _weight_rows(self, index: int, inputs: Sequence[Value], outputs: Sequence[Value]) -> bool:
        """In a decode step, rows gathered from a parameter (the routed experts' weights) are
        counted as read by the op that uses them, as a grouped kernel reads them in place,
        not as a copy made and read again."""
        if len(outputs) != 1 or inputs[0].node().kind() == "prim::Constant":
            return False
        if not any(s in self._state for s in self._storages_of(inputs[0])):
            return False
        value = outputs[0]
        storage = self._new(tensor_bytes(value), index, activation=False)
        self._state.add(storage)
        self._storages[value] = (storage,)
        self._bytes[value] = min(tensor_bytes(value), self._bytes.get(inputs[0], 0))
        return True

    def _append(self, index: int, inputs: Sequence[Value], outputs: Sequence[Value]) -> bool:
        """`cat([cached, new])` of a KV cache: counted as writing the new keys into the cache.

        transformers' DynamicCache appends by concatenation, a copy of the whole cache per
        step; a serving engine (a static or paged cache) writes the new token in place, and
        that is what is counted. The result is the cache, not an activation.
        """
        packed = inputs[0].node()
        if packed.kind() != "prim::ListConstruct":
            return False
        items = node_inputs(packed)
        cached = [v for v in items if any(s in self._cache for s in self._storages_of(v))]
        if not cached:
            return False
        new = sum(self._bytes.get(v, 0) for v in items if v not in cached)
        value = outputs[0]
        storage = self._new(tensor_bytes(value), index, activation=False)
        self._cache.add(storage)
        self._storages[value] = (storage,)
        self._bytes[value] = tensor_bytes(value)
        self.kernel = Kernel(new, new, _dtype(value), kv_bytes_written=new)
        return True

    def _shares_storage(self, kind: str, base: Value, value: Value) -> bool:
        """Whether an aliasing op's output really is its input's storage (not a copy)."""
        if kind in CONVERTS:
            return _dtype(base) == _dtype(value)
        if kind in RESHAPES:  # a view of a dense tensor; a copy of a strided one
            return self._dense.get(base, True)
        return True

    def finish(self, ops: Sequence[OpCost] = ()) -> MemoryProfile:
        """Close the walk: outputs and inputs live to the end; peaks per node and module.

        `ops` are the kernels' costs the roofline collector priced during the same walk.
        """
        parents = self._parents
        end = len(self._positions)
        self._enter(end, -1)
        for value in self._graph.inputs():  # the model's caller holds its inputs
            for storage in self._storages_of(value):
                self._death[storage] = end
        output_bytes = 0
        counted: set[int] = set()
        for value in self._graph.outputs():
            for storage in self._storages_of(value):
                self._death[storage] = end
                if self._activation[storage] and storage not in counted:
                    counted.add(storage)
                    output_bytes += self._sizes[storage]
        change = [0] * (end + 3)
        for storage, size in enumerate(self._sizes):
            if self._activation[storage] and size:
                change[self._birth[storage] + 1] += size  # inputs (birth -1) from the start
                change[self._death[storage] + 2] -= size  # freed after its last use
        # live[i + 1]: bytes live while node i runs (its inputs and outputs both held)
        live = []
        running = 0
        for delta in change:
            running += delta
            live.append(running)
        module_peaks = [0] * len(parents)
        peak, peak_index = -1, -1
        for index in range(end):
            bytes_live = live[index + 1]
            position = self._positions[index]
            if bytes_live > module_peaks[position]:
                module_peaks[position] = bytes_live
            if bytes_live > peak:
                peak, peak_index = bytes_live, index
        for position in range(len(parents) - 1, 0, -1):  # children come after parents
            parent = parents[position]
            module_peaks[parent] = max(module_peaks[parent], module_peaks[position])
        return MemoryProfile(
            peak_bytes=max(peak, self.input_bytes),
            peak_node=self._kinds[peak_index] if peak_index >= 0 else "",
            peak_node_index=peak_index,
            peak_position=self._positions[peak_index] if peak_index >= 0 else 0,
            module_peaks=tuple(module_peaks),
            activation_bytes=tuple(dict(counts) for counts in self._allocated),
            input_bytes=self.input_bytes,
            output_bytes=output_bytes,
            ops=tuple(ops),
        )
