"""Where the shared benchmark data lives (read in place, never copied into the repo)."""

from pathlib import Path

# The repository root is three levels up from this file; shared data is its sibling.
REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA_DIR = REPO_ROOT.parent / "shared" / "data"
VRPTW_DIR = SHARED_DATA_DIR / "vrptw"
SOLOMON_DIR = VRPTW_DIR / "solomon"
GH200_DIR = VRPTW_DIR / "gh200"
VRPTW_BKS_CSV = VRPTW_DIR / "bks.csv"
MANKOWSKA_DIR = SHARED_DATA_DIR / "hhcrsp" / "mankowska2014"
MANKOWSKA_BKS_CSV = SHARED_DATA_DIR / "hhcrsp" / "mankowska2014_bks.csv"
