"""The result table of the benchmarks: one row per metric, a baseline
column (OpenSSH), a candidate column (ferry's), their ratio and which
direction is better. Shared by bench.py, bench_server.py,
bench_pair.py and bench_fleet.py.
"""


def fmt(x):
    if x is None:
        return '-'
    return f'{x:.0f}' if abs(x) >= 100 else f'{x:.2f}'


class Table:
    """Rows built from vals = {key: {column: value}}; cols = (baseline,
    candidate); the ratio is candidate / baseline."""

    def __init__(self, vals, cols, ratio_label):
        self.vals, self.cols, self.ratio_label = vals, cols, ratio_label
        self.rows = []

    def row(self, section, label, unit, key, better, scale=1.0):
        v = self.vals.get(key, {})
        a, b = (v.get(c) for c in self.cols)
        a = a * scale if a is not None else None
        b = b * scale if b is not None else None
        ratio = (b / a) if (a and b is not None) else None
        self.rows.append({'section': section, 'metric': label, 'unit': unit,
                          self.cols[0]: a, self.cols[1]: b, 'ratio': ratio, 'better': better})

    def print(self):
        if not self.rows:
            print('(no results)')
            return
        w = max(len(r['metric']) for r in self.rows)
        cw = [max(9, len(c)) for c in self.cols]
        rw = max(9, len(self.ratio_label))
        print(f'{"metric":<{w}}  {"unit":<6} {self.cols[0]:>{cw[0]}} {self.cols[1]:>{cw[1]}} '
              f'{self.ratio_label:>{rw}}  better')
        line = '-' * (w + 19 + sum(cw) + rw)
        print(line)
        prev = None
        for r in self.rows:
            if prev is not None and r['section'] != prev:
                print(line)
            prev = r['section']
            ratio = f'{r["ratio"]:.2f}' if r['ratio'] is not None else '-'
            print(f'{r["metric"]:<{w}}  {r["unit"]:<6} {fmt(r[self.cols[0]]):>{cw[0]}} '
                  f'{fmt(r[self.cols[1]]):>{cw[1]}} {ratio:>{rw}}  {r["better"]}')

    def ceiling_warning(self, raw):
        """A warning line when a throughput came near the harness's own
        ceiling (raw loopback without a tunnel), else None."""
        if not raw:
            return None
        ceiling = min(raw['up_MBps'], raw['down_MBps'])
        top = max([r[c] for r in self.rows if r['unit'] == 'MB/s' for c in self.cols
                   if r[c] is not None] or [0])
        if top > 0.5 * ceiling:
            return (f'WARNING: a tunnel reached {top:.0f} MB/s, over half the harness ceiling '
                    f'({ceiling:.0f} MB/s): throughput numbers may be limited by Python')
        return None
