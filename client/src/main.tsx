/**
 * Entry: `/?role=operator` loads the Quest operator view, anything else the dashboard. Each view
 * is its own chunk, so the headset does not download the dashboard's plots and vice versa.
 */
import './styles.css';

const role = new URLSearchParams(location.search).get('role');
const root = document.getElementById('root')!;
if (role === 'operator') {
  void import('./operator/mount.js').then((m) => m.mount(root));
} else {
  void import('./dashboard/mount.js').then((m) => m.mount(root));
}
