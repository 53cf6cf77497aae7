#pragma once
// One entry point to the annotation formats: the split `name` of the dataset that
// [data] describes (the built-in benchmark and CIRR in CIRR's format, FashionIQ, and a
// folder of unlabeled images, which has only a training split).
#include <string>

#include "config/data_config.h"
#include "data/cirr.h"

namespace spn {

CirrSplit load_split(const DataConfig& data, const std::string& name);

}  // namespace spn
