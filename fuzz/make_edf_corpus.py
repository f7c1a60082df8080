#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_edf (fuzz/corpus/edf/): eight tiny EDF/EDF+/BDF/BDF+ files (< 4 KB each)
built byte by byte (header fields, 16/24-bit little-endian samples, TALs), covering plain and "+" files,
mixed sampling rates, an annotation-only file, sub-second start, and two header-repair paths.
Plain python3. Usage: python3 fuzz/make_edf_corpus.py fuzz/corpus/edf
"""
import math
import pathlib
import struct
import sys

out = pathlib.Path(sys.argv[1])

def f(s, w): s = str(s); return (s + ' ' * w)[:w].encode('latin-1')

def make(bdf, plus, signals, n_records, duration='1', patient='X X X X',
         recording='Startdate 02-JAN-2020 X X X', tals=None, records_field=None, version=None):
    """signals: list of dicts(label, dim, pmin, pmax, dmin, dmax, spr, prefilter, annot)."""
    ns = len(signals)
    h = (b'\xffBIOSEMI' if bdf else f('0', 8)) if version is None else version
    h += f(patient, 80) + f(recording, 80) + b'02.01.2003.04.05'
    h += f(256 * (ns + 1), 8) + f(('BDF+C' if bdf else 'EDF+C') if plus else ('24BIT' if bdf else ''), 44)
    h += f(records_field if records_field is not None else n_records, 8) + f(duration, 8) + f(ns, 4)
    for key, w in [('label', 16), ('transducer', 80), ('dim', 8), ('pmin', 8), ('pmax', 8),
                   ('dmin', 8), ('dmax', 8), ('prefilter', 80), ('spr', 8), ('reserved', 32)]:
        for s in signals: h += f(s.get(key, ''), w)
    bps = 3 if bdf else 2
    data = b''
    for r in range(n_records):
        for k, s in enumerate(signals):
            n = s['spr']
            if s.get('annot'):
                t = tals(r) if tals else b''
                t = t[:n * bps].ljust(n * bps, b'\0')
                data += t
            else:
                for i in range(n):
                    v = int(round(0.6 * s['dmax'] * math.sin(0.3 * (r * n + i) + k)))
                    data += (v & 0xffffff).to_bytes(3, 'little') if bdf else struct.pack('<h', v)
    return h + data

def eeg(label, spr, dim='uV', bdf=False, prefilter='HP:0.1Hz LP:75Hz'):
    dmax = 8388607 if bdf else 32767
    return dict(label=label, dim=dim, pmin=-3200, pmax=3200, dmin=-dmax - 1, dmax=dmax, spr=spr,
                transducer='AgAgCl', prefilter=prefilter)

def annot(bdf, spr, label=None, **kw):
    dmax = 8388607 if bdf else 32767
    return dict(label=label or ('BDF Annotations' if bdf else 'EDF Annotations'), pmin=-1, pmax=1,
                dmin=-dmax - 1, dmax=dmax, spr=spr, annot=True, **kw)

def tal_records(r, start=0.0):
    t = b'+%g\x14\x14\0' % (r + start)
    if r == 0: t += b'+0.5\x151\x14stimulus A\x14\0+0.5\x14second\x14\0'
    if r == 1: t += b'+1.25\x14marker\x14\0'
    return t

files = {
    'edfplus_2sig.edf': make(False, True, [eeg('EEG FP1-REF', 16), eeg('EKG', 8, 'mV'), annot(False, 30)], 3, tals=tal_records),
    'bdfplus_2sig.bdf': make(True, True, [eeg('EEG C3-LE', 16, bdf=True), eeg('Fc5.', 4, 'V', bdf=True), annot(True, 20)], 3, tals=tal_records),
    'edf_plain_3sig.edf': make(False, False, [eeg('Fp1', 10), eeg('O2', 5, 'mV'), dict(eeg('SpO2', 1, '%'), pmin=0, pmax=100)], 4, patient='patient x', recording='recording y'),
    'bdf_plain_1sig.bdf': make(True, False, [eeg('Cz', 12, bdf=True)], 3, duration='0.5', patient='p', recording='r'),
    'edfplus_annotations_only.edf': make(False, True, [annot(False, 60)], 1, duration='0',
        tals=lambda r: b'+0\x14\x14\0+0\x1530630\x14Sleep stage W\x14\0+30630\x15120\x14Sleep stage 1\x14\0'),
    'edfplus_physionet_like.edf': make(False, True, [eeg('Fc5.', 16), eeg('C3..', 16), annot(False, 20, dim='-', prefilter='HP:0Hz LP:0Hz N:0Hz')], 2,
        patient='X X X X', recording='Startdate 12-AUG-2009 X X BCI2000', tals=lambda r: b'+%d\x14\x14\0' % r + (b'+0\x154.2\x14T0\x14\0' if r == 0 else b'')),
    'edf_records_unknown.edf': make(False, False, [eeg('EEG T3-REF', 8), eeg('PHOTIC-REF', 2)], 3, records_field='-1'),
    'edfplus_subsecond.edf': make(False, True, [eeg('EEG O1-REF', 10), annot(False, 24)], 2, duration='0.5',
        tals=lambda r: b'+%g\x14\x14\0' % (0.25 + 0.5 * r)),
}
for name, data in files.items():
    assert len(data) < 4096, (name, len(data))
    (out / name).write_bytes(data)
    print(name, len(data))
