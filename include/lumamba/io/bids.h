// lumamba/io/bids.h — EEG datasets laid out as BIDS (Brain Imaging Data Structure, EEG extension):
// the recordings sub-<label>/[ses-<label>/]eeg/*_eeg.{edf,bdf,vhdr,set}, and the tables beside them
// that preprocessing reads — *_channels.tsv (channel type and good/bad status), *_electrodes.tsv
// (+ *_coordsystem.json, read by lumamba/io/electrode_positions.h), *_events.tsv (onset, duration,
// trial_type) and the root's participants.tsv. A table applies to a recording when its entities
// (key-value pairs of the name: sub, ses, task, acq, run) are a subset of the recording's; the most
// specific one in the recording's folder wins, then the session, subject and root folders (BIDS's
// inheritance principle). Torch-free.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "lumamba/io/recording.h"

namespace lumamba::io {

/// True when `folder` is a BIDS dataset: it holds dataset_description.json or a sub-* folder with
/// an eeg/ folder inside (directly or under ses-*).
bool is_bids_root(const std::string& folder);

struct BidsRecording {
  std::string path;            ///< .../eeg/sub-01_task-rest_eeg.edf
  std::string subject;         ///< "sub-01"
  std::string session;         ///< "ses-1", "" without sessions
  std::string channels_tsv;    ///< the *_channels.tsv that applies, "" = none
  std::string electrodes_tsv;  ///< the *_electrodes.tsv that applies, "" = none
  std::string events_tsv;      ///< the *_events.tsv that applies, "" = none
};

/// Every EEG recording of a BIDS root, sorted by path. A recording in a BrainVision or EEGLAB pair
/// is listed once (its .vhdr / .set). InputError when the root holds none.
std::vector<BidsRecording> find_bids_recordings(const std::string& root);

struct BidsChannel {
  std::string name;    ///< as in the recording
  std::string type;    ///< upper case: EEG, EOG, ECG, EMG, MISC, TRIG, REF, …; "" when no type column
  std::string status;  ///< "good", "bad" or "" (no status column or n/a)
  std::string status_description;
};

/// A *_channels.tsv (columns name, type, units; optional status, status_description). InputError
/// naming the file and line for a missing column or a row with the wrong number of fields.
std::vector<BidsChannel> read_bids_channels(const std::string& tsv);

/// A *_events.tsv as annotations: onset and duration (s; "n/a" duration → kNoDuration), text = the
/// trial_type column, else the value column, else "n/a" (as MNE-BIDS reads events). Rows whose
/// onset is n/a are skipped.
std::vector<Annotation> read_bids_events(const std::string& tsv);

/// One column of ROOT/participants.tsv: participant_id ("sub-01") → value as written ("n/a" kept).
/// InputError naming the file and the columns it has when `column` is not one of them.
std::map<std::string, std::string> read_bids_participants(const std::string& root, const std::string& column);

}  // namespace lumamba::io
