// lumo-db: durable, indexed records of machine-learning runs.
// The one header a trainer includes.
#ifndef LUMODB_LUMODB_H_
#define LUMODB_LUMODB_H_

#include "lumodb/code.h"
#include "lumodb/experiment.h"
#include "lumodb/hooks.h"
#include "lumodb/names.h"
#include "lumodb/options.h"
#include "lumodb/rerun.h"
#include "lumodb/series.h"
#include "lumodb/status.h"
#include "lumodb/version.h"
#include "lumodb/watcher.h"

#endif  // LUMODB_LUMODB_H_
