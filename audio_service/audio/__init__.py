"""Audio values and maths: PCM shaping, loudness, MP3 frames and encoders, ID3, ffmpeg decoding."""
