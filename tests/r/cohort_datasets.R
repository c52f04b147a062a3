#!/usr/bin/env Rscript
# R reads the cohort folders of tests/fixtures/r_cohorts/ (R data sets written in the
# cohort format by tests/test_r_cohort_parity.py::r_dataset_to_cohort) straight from their
# dates and end reasons, checks that they hold R's own data sets exactly, and fits a few
# models on them.
#
# Usage: Rscript tests/r/cohort_datasets.R [cohort_root] [outfile]
#   cohort_root defaults to tests/fixtures/r_cohorts, outfile to cohort_fits.csv in the
#   session's temporary folder. Stops with an error when a folder differs from R's data.
#
# Time = end_date - absence_start for an ended episode, follow_up_end - absence_start for
# an ongoing one (censored); status 1 for a returned_* end reason, 2 for exemption_5a.
suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
})
args <- commandArgs(trailingOnly = TRUE)
root <- if (length(args) >= 1) args[1] else file.path("tests", "fixtures", "r_cohorts")
outfile <- if (length(args) >= 2) args[2] else file.path(tempdir(), "cohort_fits.csv")
options(digits = 15)

read_cohort <- function(name) {
  dir <- file.path(root, name)
  dp <- paste(readLines(file.path(dir, "datapackage.json")), collapse = "")
  fu <- as.Date(sub('.*"follow_up_end": *"([0-9-]+)".*', "\\1", dp))
  ep <- read.csv(file.path(dir, "episodes.csv"), colClasses = "character")
  pu <- read.csv(file.path(dir, "pupils.csv"), stringsAsFactors = FALSE,
                 colClasses = c(pupil_id = "character"))
  pu <- pu[match(ep$pupil_id, pu$pupil_id), ]
  start <- as.Date(ep$absence_start)
  end <- as.Date(ifelse(ep$end_date == "", NA, ep$end_date))
  ret <- ep$end_reason %in% c("returned_full", "returned_partial",
                              "returned_special_education", "returned_new_school")
  status <- ifelse(ret, 1L, ifelse(ep$end_reason == "exemption_5a", 2L, 0L))
  stopifnot(all(is.na(end) == (status == 0L)))
  time <- as.numeric(ifelse(is.na(end), fu - start, end - start))
  cov <- pu[, grep("^r_", names(pu)), drop = FALSE]
  names(cov) <- sub("^r_", "", names(cov))
  out <- data.frame(time = time, status = status, cov, stringsAsFactors = FALSE)
  rownames(out) <- NULL
  out
}

# R's data sets, built exactly as in tests/r/reference_survival.R
lung2 <- na.omit(data.frame(
  time = as.numeric(lung$time), status = as.integer(lung$status == 2),
  sex = lung$sex, age = lung$age, ph_ecog = lung$ph.ecog, inst = lung$inst
))
vet <- data.frame(
  time = as.numeric(veteran$time), status = as.integer(veteran$status),
  trt = veteran$trt, celltype = as.character(veteran$celltype),
  karno = veteran$karno, age = veteran$age, prior = veteran$prior
)
mg <- data.frame(
  time = as.numeric(ifelse(mgus2$pstat == 0, mgus2$futime, mgus2$ptime)),
  status = as.integer(ifelse(mgus2$pstat == 0, 2 * mgus2$death, 1)),
  age = mgus2$age, male = as.integer(mgus2$sex == "M")
)
ties <- data.frame(
  time = c(1, 1, 1, 2, 2, 2, 2, 3, 3, 5, 5, 5, 5, 5, 8, 8, 9, 10, 10, 10,
           1, 1, 2, 2, 3, 3, 3, 3, 4, 4, 6, 6, 6, 7, 7, 9, 9, 10, 12, 12),
  status = c(1, 1, 0, 1, 2, 1, 0, 1, 1, 1, 0, 2, 1, 1, 0, 1, 2, 1, 0, 0,
             1, 0, 2, 2, 1, 1, 0, 1, 1, 2, 1, 1, 0, 1, 0, 1, 2, 1, 1, 0),
  group = rep(c("A", "B"), each = 20),
  x = c(0.5, -1, 0.2, 1.3, 0, -0.7, 2, 0.1, -0.3, 0.8, 1.1, -1.2, 0.4, 0, 0.9,
        -0.5, 1.5, 0.3, -0.8, 0.6, 1, 0.2, -0.4, 0.7, -1.1, 0.3, 0.5, 1.2, -0.6,
        0.1, 0.9, -0.2, 0.4, 1.4, -0.9, 0.2, 0.6, -0.3, 0.8, 0),
  cluster = rep(1:8, times = 5)
)
ties$strat <- ifelse(seq_len(40) %% 3 == 0, "s1", "s2")
own <- list(lung = lung2, veteran = vet, mgus2 = mg, ties = ties)

cohorts <- list()
for (name in names(own)) {
  a <- read_cohort(name)
  b <- own[[name]]
  rownames(b) <- NULL
  for (col in names(b)) {
    ok <- isTRUE(all.equal(as.vector(a[[col]]), as.vector(b[[col]]), tolerance = 0,
                           check.attributes = FALSE))
    if (!ok) stop(sprintf("cohort %s: column %s differs from R's data set", name, col))
  }
  cohorts[[name]] <- a
}

# fits on the data read from the cohort folders
rows <- list()
add <- function(dataset, quantity, value) {
  rows[[length(rows) + 1]] <<- data.frame(dataset = dataset, quantity = quantity,
                                          value = as.numeric(value))
}
ctl <- coxph.control(eps = 1e-10, iter.max = 100)
f <- coxph(Surv(time, status) ~ age + sex + ph_ecog, data = cohorts$lung, control = ctl)
add("lung", paste0("coxph_coef_", names(coef(f))), coef(f))
f <- coxph(Surv(time, status) ~ trt + karno + age, data = cohorts$veteran, control = ctl)
add("veteran", paste0("coxph_coef_", names(coef(f))), coef(f))
s <- summary(survfit(Surv(time, status == 1) ~ 1, data = cohorts$veteran), times = c(30, 90, 180))
add("veteran", paste0("km_surv_", s$time), s$surv)
m <- cohorts$mgus2
cr <- crr(m$time, m$status, as.matrix(m[, c("age", "male")]), failcode = 1, cencode = 0)
add("mgus2", paste0("crr_coef_", c("age", "male")), cr$coef)
ci <- timepoints(cuminc(m$time, m$status, cencode = 0), c(60, 120, 240))
add("mgus2", paste0("cuminc_1_", c(60, 120, 240)), ci$est["1 1", ])
add("mgus2", paste0("cuminc_2_", c(60, 120, 240)), ci$est["1 2", ])
write.csv(do.call(rbind, rows), outfile, row.names = FALSE)
cat("cohort folders equal R's data sets; fits written to", outfile, "\n")
