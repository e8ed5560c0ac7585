// The zones-and-masks editor of the camera settings: polygons drawn on the camera's picture and
// kept as fractions of its width and height ([camera.zone] points, docs/config.md), so they stay
// put when the resolution changes and apply to the sub stream too.
// Mouse/touch: "Add zone" or "Add mask", click the corners, "Finish shape" (or double-click /
// Enter); drag a corner to move it; click a shape to select it. Keyboard: every shape's corners
// are also a text field of numbers ("x y, x y, ..."), and a new shape can be typed the same way.
import type { Zone } from './api';
import { h, mount, notice } from './dom';

const SVG = 'http://www.w3.org/2000/svg';
type Point = [number, number];

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

const round = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 10000) / 10000;

export function pointsText(points: Point[]): string {
  return points.map(([x, y]) => `${x} ${y}`).join(', ');
}

// "0.1 0.2, 0.5 0.2, 0.5 0.8" -> points; throws with a reason for people.
export function parsePoints(text: string): Point[] {
  const pairs = text.split(/[,;]/).map((p) => p.trim()).filter(Boolean);
  const points = pairs.map((p) => {
    const nums = p.split(/\s+/).map(Number);
    if (nums.length !== 2 || nums.some((n) => !Number.isFinite(n) || n < 0 || n > 1)) {
      throw new Error(`"${p}" is not a corner: write x and y, each between 0 and 1, e.g. 0.25 0.5`);
    }
    return [nums[0], nums[1]] as Point;
  });
  if (points.length < 3) throw new Error('a shape needs at least 3 corners');
  return points;
}

export interface ZoneEditor {
  element: HTMLElement;
  zones(): Zone[];
  // The picture to draw on: a URL (or data: URL), or null for a blank 16:9 area with a note.
  setPicture(src: string | null, note?: string): void;
}

export function zoneEditor(initial: Zone[], onChange: (zones: Zone[]) => void): ZoneEditor {
  const zones: Zone[] = initial.map((z) => ({ name: z.name, mask: !!z.mask, points: z.points.map((p) => [p[0], p[1]] as Point) }));
  let selected = -1;
  let drawing: { mask: boolean; points: Point[] } | null = null;
  let drag: { zone: number; point: number; id: number } | null = null;
  let width = 1600; // the picture's pixel size: the SVG's coordinate system
  let height = 900;

  const img = h('img', { class: 'zone-picture', alt: 'Camera picture to draw zones on', draggable: 'false' });
  const blank = h('div', { class: 'zone-blank muted' });
  const overlay = svg('svg', { class: 'zone-overlay', preserveAspectRatio: 'none', role: 'img', 'aria-label': 'Zones and masks' });
  const stage = h('div', { class: 'zone-stage', 'data-drawing': 'false' }, img, blank);
  stage.append(overlay);
  const message = h('div', { 'aria-live': 'polite' });
  const list = h('div', { class: 'zone-list' });

  const addZone = h('button', { type: 'button', name: 'add_zone' }, 'Add zone');
  const addMask = h('button', { type: 'button', name: 'add_mask' }, 'Add mask');
  const finish = h('button', { type: 'button', name: 'finish_shape', class: 'primary', hidden: true }, 'Finish shape');
  const cancel = h('button', { type: 'button', name: 'cancel_shape', hidden: true }, 'Cancel shape');
  const typed = h('input', { name: 'new_points', placeholder: '0.1 0.1, 0.5 0.1, 0.5 0.6', autocomplete: 'off', spellcheck: 'false' });
  const useTyped = h('button', { type: 'button' }, 'Use these corners');
  const drawHelp = h(
    'div',
    { class: 'zone-draw-help', hidden: true },
    h('p', { class: 'small' }, 'Click the picture to place corners, then Finish shape (or double-click, or press Enter). Or type the corners as fractions of width and height:'),
    h('div', { class: 'row' }, h('label', { class: 'field grow' }, h('span', {}, 'Corners (x y, x y, …)'), typed), useTyped),
  );

  const uniqueName = (base: string) => {
    for (let i = 1; ; ++i) if (!zones.some((z) => z.name === `${base}${i}`)) return `${base}${i}`;
  };

  const changed = () => onChange(zones.map((z) => ({ ...z, points: z.points.map((p) => [...p] as Point) })));

  const toPoint = (e: PointerEvent | MouseEvent): Point => {
    const r = overlay.getBoundingClientRect();
    return [round((e.clientX - r.left) / r.width), round((e.clientY - r.top) / r.height)];
  };

  const drawOverlay = () => {
    overlay.setAttribute('viewBox', `0 0 ${width} ${height}`);
    overlay.replaceChildren();
    const r = Math.max(width, height) / 110;
    const pts = (p: Point[]) => p.map(([x, y]) => `${x * width},${y * height}`).join(' ');
    zones.forEach((z, zi) => {
      const poly = svg('polygon', { points: pts(z.points), class: `zone-shape${z.mask ? ' mask' : ''}${zi === selected ? ' selected' : ''}`, 'data-zone': zi });
      const title = svg('title', {});
      title.textContent = `${z.mask ? 'Mask' : 'Zone'} ${z.name}`;
      poly.append(title);
      overlay.append(poly);
      const [cx, cy] = z.points.reduce(([ax, ay], [x, y]) => [ax + x / z.points.length, ay + y / z.points.length], [0, 0]);
      const label = svg('text', { x: cx * width, y: cy * height, class: 'zone-label', 'font-size': r * 2.4 });
      label.textContent = z.name;
      overlay.append(label);
    });
    if (selected >= 0 && zones[selected]) {
      zones[selected].points.forEach(([x, y], pi) => {
        overlay.append(svg('circle', { cx: x * width, cy: y * height, r, class: 'zone-handle', 'data-zone': selected, 'data-point': pi }));
      });
    }
    if (drawing) {
      overlay.append(svg('polyline', { points: pts(drawing.points), class: `zone-drawing${drawing.mask ? ' mask' : ''}` }));
      drawing.points.forEach(([x, y]) => overlay.append(svg('circle', { cx: x * width, cy: y * height, r, class: 'zone-handle new' })));
    }
  };

  const select = (i: number) => {
    selected = i;
    drawOverlay();
    list.querySelectorAll<HTMLElement>('[data-zone-row]').forEach((row) => row.setAttribute('aria-current', String(Number(row.dataset.zoneRow) === selected)));
  };

  const renderList = () => {
    if (!zones.length) {
      mount(list, h('p', { class: 'muted small' }, 'No zones: motion anywhere in the picture counts. Add a zone to watch only part of it, or a mask to ignore a part (a tree, a road, a clock).'));
      return;
    }
    mount(
      list,
      zones.map((z, zi) => {
        const name = h('input', { name: 'zone_name', value: z.name, required: true, pattern: '[a-z0-9][a-z0-9_\\-]{0,31}', autocomplete: 'off', 'aria-label': `Name of ${z.mask ? 'mask' : 'zone'} ${zi + 1}` });
        name.addEventListener('input', () => {
          z.name = name.value.trim();
          drawOverlay();
          changed();
        });
        const mask = h('input', { type: 'checkbox', name: 'zone_mask', checked: !!z.mask });
        const nameLabel = h('span', {}, z.mask ? 'Mask name' : 'Zone name');
        mask.addEventListener('change', () => {
          z.mask = mask.checked;
          nameLabel.textContent = z.mask ? 'Mask name' : 'Zone name';
          drawOverlay();
          changed();
        });
        const corners = h('input', { name: 'zone_points', value: pointsText(z.points), autocomplete: 'off', spellcheck: 'false', 'aria-label': `Corners of ${z.name} (x y, x y, …; fractions of width and height)` });
        corners.addEventListener('change', () => {
          try {
            z.points = parsePoints(corners.value);
            mount(message);
            drawOverlay();
            changed();
          } catch (err) {
            mount(message, notice('error', `${z.name}: ${(err as Error).message}`));
          }
        });
        const remove = h('button', { type: 'button', class: 'danger', name: 'zone_delete' }, 'Delete');
        remove.addEventListener('click', () => {
          zones.splice(zi, 1);
          selected = -1;
          renderList();
          drawOverlay();
          changed();
        });
        const pick = h('button', { type: 'button', name: 'zone_select' }, 'Select');
        pick.addEventListener('click', () => select(zi));
        return h(
          'div',
          { class: 'zone-row', 'data-zone-row': zi, 'aria-current': String(zi === selected) },
          h('label', { class: 'field' }, nameLabel, name),
          h('label', { class: 'check' }, mask, ' Mask (ignore motion here)'),
          h('label', { class: 'field grow' }, h('span', {}, 'Corners'), corners),
          h('div', { class: 'row' }, pick, remove),
        );
      }),
    );
  };

  const setDrawing = (d: typeof drawing) => {
    drawing = d;
    stage.dataset.drawing = String(!!d);
    finish.hidden = cancel.hidden = drawHelp.hidden = !d;
    addZone.disabled = addMask.disabled = !!d;
    if (d) {
      selected = -1;
      typed.value = '';
    }
    drawOverlay();
  };

  const finishShape = (points: Point[]) => {
    if (!drawing) return;
    if (points.length < 3) {
      mount(message, notice('error', 'A shape needs at least 3 corners.'));
      return;
    }
    zones.push({ name: uniqueName(drawing.mask ? 'mask' : 'zone'), mask: drawing.mask, points });
    setDrawing(null);
    mount(message);
    selected = zones.length - 1;
    renderList();
    drawOverlay();
    changed();
  };

  addZone.addEventListener('click', () => setDrawing({ mask: false, points: [] }));
  addMask.addEventListener('click', () => setDrawing({ mask: true, points: [] }));
  cancel.addEventListener('click', () => setDrawing(null));
  finish.addEventListener('click', () => finishShape(drawing?.points ?? []));
  useTyped.addEventListener('click', () => {
    try {
      finishShape(parsePoints(typed.value));
    } catch (err) {
      mount(message, notice('error', (err as Error).message));
    }
  });
  stage.addEventListener('keydown', (e) => {
    if (!drawing) return;
    if (e.key === 'Enter') {
      e.preventDefault();
      finishShape(drawing.points);
    } else if (e.key === 'Escape') {
      setDrawing(null);
    }
  });

  overlay.addEventListener('pointerdown', (e) => {
    e.preventDefault();
    if (drawing) {
      drawing.points.push(toPoint(e));
      drawOverlay();
      return;
    }
    const t = e.target as Element;
    const zi = t.getAttribute('data-zone');
    const pi = t.getAttribute('data-point');
    if (zi !== null && pi !== null) {
      drag = { zone: Number(zi), point: Number(pi), id: e.pointerId };
      overlay.setPointerCapture(e.pointerId);
    } else {
      select(zi !== null ? Number(zi) : -1);
    }
  });
  overlay.addEventListener('pointermove', (e) => {
    if (!drag || e.pointerId !== drag.id) return;
    zones[drag.zone].points[drag.point] = toPoint(e);
    drawOverlay();
  });
  const endDrag = (e: PointerEvent) => {
    if (!drag || e.pointerId !== drag.id) return;
    const zi = drag.zone;
    drag = null;
    const field = list.querySelector<HTMLInputElement>(`[data-zone-row="${zi}"] input[name=zone_points]`);
    if (field) field.value = pointsText(zones[zi].points);
    changed();
  };
  overlay.addEventListener('pointerup', endDrag);
  overlay.addEventListener('pointercancel', endDrag);
  overlay.addEventListener('dblclick', (e) => {
    if (!drawing) return;
    e.preventDefault();
    // The double click's two pointerdowns added the same corner twice.
    const p = drawing.points;
    while (p.length >= 2 && p[p.length - 1][0] === p[p.length - 2][0] && p[p.length - 1][1] === p[p.length - 2][1]) p.pop();
    finishShape(p);
  });

  img.addEventListener('load', () => {
    width = img.naturalWidth || 1600;
    height = img.naturalHeight || 900;
    stage.style.aspectRatio = `${width} / ${height}`;
    drawOverlay();
  });

  const element = h(
    'div',
    { class: 'zone-editor' },
    h('div', { class: 'row' }, addZone, addMask, finish, cancel),
    drawHelp,
    stage,
    message,
    list,
  );
  stage.tabIndex = 0;
  stage.setAttribute('aria-describedby', 'zone-help');
  element.append(h('p', { id: 'zone-help', class: 'small muted' }, 'Corners are fractions of the picture: 0 0 is the top left, 1 1 the bottom right. Drag a corner of the selected shape to move it.'));

  renderList();
  drawOverlay();
  return {
    element,
    zones: () => zones.map((z) => ({ name: z.name, mask: !!z.mask, points: z.points.map((p) => [...p] as Point) })),
    setPicture(src, note) {
      stage.dataset.picture = String(!!src);
      img.hidden = !src;
      blank.hidden = !!src;
      mount(blank, note ?? 'No picture yet: test the connection to draw on the camera\'s picture.');
      if (src) img.src = src;
      else {
        width = 1600;
        height = 900;
        stage.style.aspectRatio = '16 / 9';
        drawOverlay();
      }
    },
  };
}
