// The speaker button of the live and recorded players. Video starts muted (browsers allow muted
// autoplay only, and a wall of cameras should not all talk at once); the user turns the sound of
// one player on. Cameras without audio simply stay silent.
import { h } from './dom';

export function speakerButton(video: HTMLVideoElement): HTMLButtonElement {
  const button = h('button', { type: 'button', class: 'speaker', 'aria-label': 'Sound' });
  const show = () => {
    button.setAttribute('aria-pressed', String(!video.muted));
    button.textContent = video.muted ? '🔇' : '🔊';
    button.title = video.muted ? 'Sound off (click to listen)' : 'Sound on';
  };
  button.addEventListener('click', () => {
    video.muted = !video.muted;
    // Unmuting is a user gesture: a play() the browser refused earlier may go now.
    if (!video.muted && video.paused && video.src) video.play().catch(() => {});
    show();
  });
  video.addEventListener('volumechange', show);
  show();
  return button;
}
