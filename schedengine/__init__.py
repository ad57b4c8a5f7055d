"""schedengine: what state is a telephony customer in at instant T?"""
