"""vigil's RTSP client against the answers of real cameras: each camera below is a replay of
what one real camera model sent (tests/data/cameras, recorded by the retina project), with its
quirks, in front of a real H.264 clip sent as RTP over the RTSP connection."""
import os
import time
import unittest

from harness import ReplayCamera, TestCase, Vigil, decode_errors, make_clip

# camera id -> recorded answers to OPTIONS, DESCRIBE, SETUP, PLAY (None: a plain 200 answer),
# and what makes it interesting.
PROFILES = {
    # Absolute control URLs with a query string; runs of spaces after "Session:".
    "hikvision": (None, "hikvision_describe.txt", "hikvision_setup.txt", "hikvision_play.txt"),
    # Public lists GET_PARAMETER (keepalive); AAC and ONVIF metadata tracks besides video;
    # RTP-Info for three tracks with relative URLs.
    "dahua": ("dahua_options.txt", "dahua_describe_h264_aac_onvif.txt", "dahua_setup.txt",
              "dahua_play.txt"),
    # LIVE555 with AAC announced (never sent); RTP-Info with ssrc.
    "reolink": (None, "reolink_describe.txt", "reolink_setup.txt", "reolink_play.txt"),
    # sprop NAL units ending in a start code; PCMU mislabeled as PT 8; RTP-Info URL that is
    # not the control URL; a different session timeout in SETUP and PLAY.
    "gw-security": (None, "gw_main_describe.txt", "gw_main_setup_video.txt",
                    "gw_main_play.txt"),
    # "Cseq" spelling, no Content-Base, a tab after the audio m= line.
    "vstarcam": (None, "vstarcam_describe.txt", None, None),
    # No o= line, profile-level-id in base64.
    "macrovideo": (None, "macrovideo_describe.txt", None, None),
    # Audio listed before video; Wowza.
    "wowza": (None, "bunny_describe.txt", "bunny_setup.txt", "bunny_play.txt"),
    # No Content-Type; a Session header already in DESCRIBE.
    "libavformat-server": (None, "missing_content_type_describe.txt", None, None),
}


class RealCameras(TestCase):
    def test_every_recorded_camera_is_recorded_by_the_native_client(self):
        clip = make_clip("h264-640", "--codec", "h264", "--seconds", "10")
        cams = {cid: self.track(ReplayCamera(clip, describe, options, setup, play))
                for cid, (options, describe, setup, play) in PROFILES.items()}
        v = self.track(Vigil(self.workdir, [
            {"id": cid, "url": cam.url("stream", "admin", "pw")} for cid, cam in cams.items()
        ], segment_seconds=10).start())
        v.wait_for(lambda: all((v.camera_status(c) or {}).get("state") == "streaming"
                               for c in PROFILES), 30, "every camera streaming")
        time.sleep(12)
        status = {c: v.camera_status(c) for c in PROFILES}
        self.assertEqual(v.stop(), 0)
        for cid in PROFILES:
            with self.subTest(camera=cid):
                st = status[cid]
                self.assertEqual(st["state"], "streaming", st.get("last_error"))
                self.assertEqual(st["reconnects"], 0, st.get("last_error"))
                self.assertEqual((st["video_codec"], st["width"], st["height"]),
                                 ("h264", 640, 360))
                segs = v.segments(cid)
                self.assertGreaterEqual(len(segs), 1)
                recorded = sum(s["media_duration_90k"] for s in segs) / 90000
                self.assertGreater(recorded, 10)
                for s in segs:
                    path = os.path.join(v.data, s["path"])
                    self.assertEqual(decode_errors(path), "", path)
                    # Audio is announced by most of them but never sent: no empty audio track
                    # (a browser would wait for its samples forever).
                    self.assertEqual(s["has_audio"], 0)
        log = v.log()
        for cid in ("dahua", "reolink", "wowza", "libavformat-server"):
            self.assertIn("camera %s: streaming h264 640x360; the camera announces AAC audio but "
                          "sends none" % cid, log)
        for cid, codec in (("gw-security", "pcm_mulaw"), ("vstarcam", "pcm_alaw")):
            self.assertIn("camera %s: streaming h264 640x360; %s audio is not recorded" %
                          (cid, codec), log)
        r = v.run("check", "--hash")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_keepalives_survive_digest_nonces_that_expire(self):
        # The camera changes its Digest nonce every 4 s and ends a session that sent no valid
        # request for 10 s: each keepalive meets a stale nonce and must be answered again.
        clip = make_clip("h264-640", "--codec", "h264", "--seconds", "10")
        cam = self.track(ReplayCamera(clip, "hikvision_describe.txt", extra=(
            "--user", "admin", "--password", "pw 9", "--nonce-seconds", "4",
            "--session-timeout", "10")))
        v = self.track(Vigil(self.workdir, [
            {"id": "hik", "url": cam.url("stream", "admin", "pw%209")}]).start())
        v.wait_for(lambda: (v.camera_status("hik") or {}).get("state") == "streaming", 30,
                   "streaming")
        time.sleep(26)
        st = v.camera_status("hik")
        self.assertEqual(v.stop(), 0)
        self.assertEqual(st["reconnects"], 0, v.log()[-2000:])
        self.assertEqual(v.gaps("hik"), [])
        recorded = sum(s["media_duration_90k"] for s in v.segments("hik")) / 90000
        self.assertGreater(recorded, 24)


if __name__ == "__main__":
    unittest.main()
