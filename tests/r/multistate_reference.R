#!/usr/bin/env Rscript
# Reference state-occupation probabilities for thuiszit_eval.multistate, from R's survival.
#
# Usage: Rscript tests/r/multistate_reference.R [outdir] [indir]
#   outdir defaults to tests/fixtures/r_multistate; indir (where ds_demo.csv is read from,
#   the multi-state data exported by Python from the simulated demo cohort) defaults to
#   tests/fixtures/r_multistate.
#
# ds_demo.csv was written from Python (ids renumbered 1..n, no pupil ids):
#   d = multistate.multistate_data(Cohort.load(demo_cohort_path()))
#   d["id"] = pd.factorize(d["id"])[0] + 1
#   d[["id", "tstart", "tstop", "from_state", "to_state"]].to_csv(".../ds_demo.csv",
#                                                                  index=False)
#
# Writes ds_hand.csv (a small hand-made data set with back-transitions, ties between
# transitions and censorings, and relapse), pstate_hand.csv, pstate_demo.csv (time, state,
# n_risk, pstate, std_err: survfit's Aalen-Johansen estimate with the infinitesimal-
# jackknife standard error, clustered by id) and metadata.csv.
suppressPackageStartupMessages(library(survival))

args <- commandArgs(trailingOnly = TRUE)
outdir <- if (length(args) >= 1) args[1] else file.path("tests", "fixtures", "r_multistate")
indir <- if (length(args) >= 2) args[2] else file.path("tests", "fixtures", "r_multistate")
dir.create(outdir, showWarnings = FALSE, recursive = TRUE)
wcsv <- function(x, name) write.csv(x, file.path(outdir, name), row.names = FALSE, na = "")
options(digits = 15)
states <- c("home", "partial", "full", "relapse")

# ------------------------------------------------------------------ hand-made histories
# one row per stay: id, tstart, tstop, from_state, to_state ("censored" = censored)
h <- function(id, times, path, end) {
  # path: states visited from time 0; times: change times; end: final to_state
  n <- length(path)
  data.frame(id = id, tstart = c(0, times), tstop = c(times, NA),
             from_state = path, to_state = c(path[-1], end), stringsAsFactors = FALSE)
}
hand <- rbind(
  h(1, c(7, 14), c("home", "partial", "full"), "censored"),
  h(2, c(7, 21, 28), c("home", "partial", "full", "partial"), "relapse"),
  h(3, c(14), c("home", "full"), "censored"),
  h(4, c(7, 14, 35), c("home", "partial", "home", "partial"), "censored"),
  h(5, numeric(0), c("home"), "censored"),
  h(6, c(21, 28, 35), c("home", "full", "partial", "full"), "censored"),
  h(7, c(14), c("home", "partial"), "relapse"),
  h(8, c(7, 28), c("home", "full", "home"), "relapse"),
  h(9, c(21), c("home", "partial"), "censored"),
  h(10, c(14, 21), c("home", "partial", "full"), "relapse"),
  h(11, numeric(0), c("home"), "relapse"),
  h(12, c(7, 14, 21, 28), c("home", "partial", "full", "partial", "full"), "censored")
)
ends <- c(42, 40, 14.5, 56, 21, 49, 30, 35, 28, 45, 10, 63)
hand$tstop[is.na(hand$tstop)] <- ends[hand$id[is.na(hand$tstop)]]
wcsv(hand, "ds_hand.csv")

fit_ms <- function(d) {
  d$state <- factor(d$to_state, levels = c("censored", states))
  d$istate <- factor(d$from_state, levels = states)
  fit <- survfit(Surv(tstart, tstop, state) ~ 1, data = d, id = id, istate = istate)
  k <- match(states, fit$states)
  do.call(rbind, lapply(seq_along(states), function(j) data.frame(
    time = fit$time, state = states[j], n_risk = rowSums(fit$n.risk),
    pstate = fit$pstate[, k[j]], std_err = fit$std.err[, k[j]])))
}
wcsv(fit_ms(hand), "pstate_hand.csv")

demo <- read.csv(file.path(indir, "ds_demo.csv"), stringsAsFactors = FALSE)
wcsv(fit_ms(demo), "pstate_demo.csv")

wcsv(data.frame(key = c("R", "survival"),
                value = c(R.version.string, as.character(packageVersion("survival")))),
     "metadata.csv")
