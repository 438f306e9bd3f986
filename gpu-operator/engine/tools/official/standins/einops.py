"""Stand-in for the einops functions the official HunyuanVideo-1.5 code calls (rearrange only).

Supports named axes, parenthesised groups, unit axes ("1") and sizes given as keywords; enough for
every pattern the official modules use. Written for ReelFlow's golden generator, not a general port.
"""
import math


def _parse(side):
    groups, cur, depth = [], None, 0
    for tok in side.replace("(", " ( ").replace(")", " ) ").split():
        if tok == "(":
            depth += 1
            cur = []
        elif tok == ")":
            depth -= 1
            groups.append(cur)
            cur = None
        elif cur is not None:
            cur.append(tok)
        else:
            groups.append([tok])
    if depth:
        raise ValueError("unbalanced parentheses in " + side)
    return groups


def rearrange(tensor, pattern, **sizes):
    left, right = (s.strip() for s in pattern.split("->"))
    lg, rg = _parse(left), _parse(right)
    if len(lg) != tensor.dim():
        raise ValueError(f"pattern {pattern!r} expects {len(lg)} dims, got {tensor.dim()}")
    known = dict(sizes)
    for group, dim in zip(lg, tensor.shape):
        names = [a for a in group if a != "1"]
        unknown = [a for a in names if a not in known]
        prod = math.prod(known[a] for a in names if a in known)
        if len(unknown) > 1:
            raise ValueError(f"cannot infer {unknown} in {pattern!r}")
        if unknown:
            known[unknown[0]] = dim // prod
    elementary = [a for g in lg for a in g if a != "1"]
    x = tensor.reshape([known[a] for a in elementary])
    order = [a for g in rg for a in g if a != "1"]
    x = x.permute([elementary.index(a) for a in order])
    out_shape = [math.prod(known[a] for a in g if a != "1") if g != ["1"] else 1 for g in rg]
    return x.reshape(out_shape)
