# Windows of the demo task (S001 R03/R05/R07/R09 train, R11/R13 test), approx. the `events` preset, via MNE.
import mne, numpy as np, os
mne.set_log_level('ERROR')
CH = "FP1 FPZ FP2 AF3 AF4 F7 F3 FZ F4 F8 FC5 FC1 FC2 FC6 T7 C3 CZ C4 T8 CP5 CP1 CP2 CP6 P7 P3 PZ P4 P8 O1 OZ O2".split()
def load(files, labels={'T0':0,'T1':1,'T2':1}):
    X, Y, S = [], [], []
    for f in files:
        raw = mne.io.read_raw_edf(f, preload=True)
        raw.rename_channels(lambda c: c.strip('.').upper())
        raw.pick(CH)
        raw.filter(0.1, 75 if raw.info['sfreq']/2 > 75 else None)
        raw.notch_filter(60)
        raw.resample(256)
        d = raw.get_data() * 1e6
        for a in raw.annotations:
            if a['description'] not in labels: continue
            s = int(round(a['onset'] * 256)); n = 960
            if s + n > d.shape[1]: continue
            X.append(d[:, s:s+n]); Y.append(labels[a['description']]); S.append(os.path.basename(f)[:4])
    X = np.array(X, dtype=np.float32)
    X = (X - X.mean(-1, keepdims=True)) / (X.std(-1, ddof=1, keepdims=True) + 1e-8)
    return X, np.array(Y), np.array(S)
def locs():
    m = mne.channels.make_standard_montage('standard_1005')
    info = mne.create_info(CH, 256, 'eeg'); info.set_montage(m, match_case=False)
    return np.array([info['chs'][i]['loc'][:3] for i in range(len(CH))], dtype=np.float32)
if __name__ == '__main__':
    d = os.path.join(os.path.dirname(__file__), '../../data/eegmmidb_S001/')
    Xtr, Ytr, _ = load([d + f'S001R{r:02d}.edf' for r in (3, 5, 7, 9)])
    Xte, Yte, _ = load([d + f'S001R{r:02d}.edf' for r in (11, 13)])
    np.savez('/tmp/lumamba_demo_windows.npz', Xtr=Xtr, Ytr=Ytr, Xte=Xte, Yte=Yte, locs=locs())
    print(Xtr.shape, Ytr.mean(), Xte.shape)
