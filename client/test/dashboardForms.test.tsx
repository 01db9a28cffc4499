import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { parseCalibrationInput } from '../src/dashboard/calibrationInput.js';
import { QuestLink } from '../src/dashboard/Dashboard.js';

describe('calibration inputs, checked in the page', () => {
  it('turns valid fields into one calibrate message (empty hand = automatic, comma decimals accepted)', () => {
    expect(parseCalibrationInput('1.2', '', '0,5')).toEqual({
      ok: true,
      message: { type: 'calibrate', handScale: { left: 1.2 }, translationScale: 0.5 },
      summary: 'hand 1.2/auto, translation 0.5',
    });
  });

  it('says what is wrong instead of sending "abc" as null', () => {
    expect(parseCalibrationInput('abc', '', '1')).toEqual({ ok: false, error: 'left hand scale: "abc" is not a number' });
    expect(parseCalibrationInput('', '0', '1')).toEqual({ ok: false, error: 'right hand scale: 0 is outside [0.5, 2]' });
    expect(parseCalibrationInput('', '', '10')).toEqual({ ok: false, error: 'translation scale: 10 is outside [0.1, 4]' });
    expect(parseCalibrationInput('', '', '')).toMatchObject({ ok: false, error: expect.stringMatching(/needs handScale, translationScale or digitScales/) });
  });
});

describe('QuestLink', () => {
  it('offers no link or QR code without the operator token (it would open on "No operator token")', () => {
    const html = renderToStaticMarkup(<QuestLink token={undefined} lanUrls={['https://10.0.0.2:8443']} />);
    expect(html).not.toContain('<canvas');
    expect(html).not.toContain('role=operator');
    expect(html).toContain('needs the operator token');
  });

  it('with the token: masked link, a warning that it grants control, and the QR code only on request', () => {
    const html = renderToStaticMarkup(<QuestLink token="s3cret" lanUrls={['https://10.0.0.2:8443']} />);
    expect(html).toContain('https://10.0.0.2:8443/?role=operator#token=••••••');
    expect(html).not.toContain('s3cret');
    expect(html).toContain('whoever opens them can drive the robot');
    expect(html).not.toContain('<canvas');
    expect(html).toContain('show QR code (grants control)');
  });
});
