#include "skip.hh"

namespace bench {

void skip_run(benchmark::State &state, const std::string &reason)
{
	state.SkipWithError((kSkipPrefix + reason).c_str());
}

bool is_skip_message(const std::string &message)
{
	return message.rfind(kSkipPrefix, 0) == 0;
}

std::string skip_reason(const std::string &message)
{
	return is_skip_message(message) ? message.substr(std::char_traits<char>::length(kSkipPrefix))
					: message;
}

}  // namespace bench
