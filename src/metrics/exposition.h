// The Prometheus text exposition format, version 0.0.4:
//
//   # HELP crix_image_pulls_total Image pulls, by result.
//   # TYPE crix_image_pulls_total counter
//   crix_image_pulls_total{result="success"} 3
//
// One HELP and one TYPE line per family, then its samples; label values and
// HELP text escaped as the format says.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "metrics/registry.h"

namespace crix::metrics {

inline constexpr const char* kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string renderText(const std::vector<FamilySnapshot>& families);

// Values: integers as integers (counters of bytes read well), other numbers
// in their shortest round-trip form, and +Inf, -Inf, NaN.
std::string formatValue(double v);
// Label values: backslash, double quote and newline escaped.
std::string escapeLabelValue(std::string_view v);
// HELP text: backslash and newline escaped.
std::string escapeHelp(std::string_view v);

}  // namespace crix::metrics
