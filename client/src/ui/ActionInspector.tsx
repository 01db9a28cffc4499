/** The 88 action entries grouped, named and with units; values written to the DOM at 5 Hz, no React render. */
import { ACTION_ENTRIES } from '@dexbridge/retarget';
import { useEffect, useMemo, useRef } from 'react';

export function ActionInspector({ action }: { action: () => ArrayLike<number> | undefined }) {
  const cells = useRef<(HTMLTableCellElement | null)[]>([]);
  const source = useRef(action);
  source.current = action;
  const groups = useMemo(() => {
    const m = new Map<string, typeof ACTION_ENTRIES>();
    for (const e of ACTION_ENTRIES) m.set(e.group, [...(m.get(e.group) ?? []), e]);
    return [...m.entries()];
  }, []);
  useEffect(() => {
    const timer = setInterval(() => {
      const a = source.current();
      if (!a) return;
      for (let i = 0; i < 88; i++) {
        const el = cells.current[i];
        if (el) el.textContent = Number.isFinite(a[i]!) ? a[i]!.toFixed(4) : 'NaN';
      }
    }, 200);
    return () => clearInterval(timer);
  }, []);
  return (
    <div className="panel action" data-testid="action-inspector">
      <h3>Action (88)</h3>
      <div className="groups">
        {groups.map(([g, entries]) => (
          <table key={g}>
            <caption>{g.replace('_', ' ')}</caption>
            <tbody>
              {entries.map((e) => (
                <tr key={e.index} title={e.meaning}>
                  <td className="ix">{e.index}</td>
                  <td>{e.name.replace(/^(left|right)_/, '')}</td>
                  <td
                    className="val"
                    ref={(el) => {
                      cells.current[e.index] = el;
                    }}
                  >
                    –
                  </td>
                  <td className="unit">{e.unit}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ))}
      </div>
    </div>
  );
}

